import NIOCore

/// A connection's source address and the groups admission counts it in: the address itself, its
/// network (IPv4 /24, IPv6 /64), and the key its penalties are kept under (the address for IPv4,
/// the /64 for IPv6, where one client can rotate through 2^64 addresses). An IPv4-mapped IPv6
/// address (`::ffff:a.b.c.d`, what a dual-stack listener reports for IPv4 clients) counts as the
/// IPv4 address.
struct SourceAddress: Hashable, Sendable, CustomStringConvertible {
    /// A parsed address or prefix; text that is not an IP address is kept as it is.
    enum Key: Hashable, Sendable {
        case v4(UInt32)
        case v6(high: UInt64, low: UInt64)
        case other(String)
    }

    /// The prefix lengths that make one network for admission's fair shares.
    static let ipv4PrefixLength = 24
    static let ipv6PrefixLength = 64

    /// The address as the listener reported it.
    let description: String
    /// The address itself.
    let address: Key

    init(_ text: String) {
        description = text
        address = Self.parse(text) ?? .other(text)
    }

    /// The network the address belongs to: its /24 (IPv4) or /64 (IPv6).
    var network: Key {
        switch address {
        case .v4(let value): .v4(value & 0xFFFF_FF00)
        case .v6(let high, _): .v6(high: high, low: 0)
        case .other: address
        }
    }

    /// The block whose record of unfinished handshakes orders victims of eviction (see
    /// ``AdmissionTable``): the /24 (IPv4), or the /48 (IPv6: one site's allocation, which holds
    /// 65,536 /64 networks).
    var churnKey: Key {
        switch address {
        case .v4, .other: network
        case .v6(let high, _): .v6(high: high & 0xFFFF_FFFF_FFFF_0000, low: 0)
        }
    }

    /// What penalties are kept under: the address (IPv4), or its /64 (IPv6).
    var penaltyKey: Key {
        switch address {
        case .v4, .other: address
        case .v6: network
        }
    }

    /// Parses an IPv4 or IPv6 address; `nil` if `text` is neither.
    static func parse(_ text: String) -> Key? {
        guard let socket = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        switch socket {
        case .v4(let v4):
            return .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            guard bytes.count == 16 else { return nil }
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if high == 0, low >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: low)) }
            return .v6(high: high, low: low)
        case .unixDomainSocket:
            return nil
        }
    }
}
