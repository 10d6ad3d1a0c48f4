import LaboratoryProtocol

/// Limits on who may connect, checked when a connection is accepted, before any work is done
/// for it. The defaults and their reasons are in `Docs/SECURITY.md`.
public struct AdmissionPolicy: Sendable, Hashable {
    /// Connections of any kind at once; more are refused. Default 16,384.
    public var maximumConnections = 16_384
    /// The unfinished-handshake table (`full` slots, shared fairly by network and address, with
    /// eviction) and its early random drop, like sshd's `MaxStartups start:rate:full`.
    /// Default 64:30:256.
    public var maxStartups = MaxStartups(start: 64, rate: 30, full: 256)
    /// Unauthenticated connections one source address may have at once. Default 16.
    public var maximumUnauthenticatedPerSource = 16
    /// Unauthenticated connections one network (an IPv4 /24 or an IPv6 /64) may have at once, so
    /// that one attacker with many addresses in one block cannot take every slot. Default 32.
    public var maximumUnauthenticatedPerNetwork = 32
    /// Penalties for misbehaving sources.
    public var penalties = PenaltyPolicy()

    /// The defaults.
    public init() {}
}

/// sshd-style `MaxStartups`: from `start` unauthenticated connections on, refuse new ones with
/// probability `rate`%, rising linearly to 100% at `full`, which is also the size of the
/// unfinished-handshake table.
///
/// Unlike sshd, the drop applies only to newcomers whose network (or, within its network, whose
/// address) already holds at least its fair share of the table; a newcomer below its share is
/// admitted, and when the table is full it takes the slot of the oldest unfinished handshake of
/// the heaviest network's heaviest address (see `Docs/SECURITY.md`).
public struct MaxStartups: Sendable, Hashable {
    /// Unauthenticated connections from which refusals begin.
    public var start: Int
    /// The refusal probability at `start`, in percent.
    public var rate: Int
    /// The size of the unfinished-handshake table: from here on, a newcomer below its fair share
    /// evicts the heaviest holder's oldest handshake, and everyone else is refused.
    public var full: Int

    /// Creates a policy; `start <= full` and `0 <= rate <= 100`.
    public init(start: Int, rate: Int, full: Int) {
        precondition(
            start >= 0 && start <= full && (0...100).contains(rate), "MaxStartups needs start <= full, 0 <= rate <= 100"
        )
        self.start = start
        self.rate = rate
        self.full = full
    }

    /// The probability, in percent, of refusing a connection when `unauthenticated` are open.
    func refusalPercent(unauthenticated: Int) -> Int {
        if unauthenticated < start { return 0 }
        if unauthenticated >= full { return 100 }
        return rate + (100 - rate) * (unauthenticated - start) / max(full - start, 1)
    }
}

/// Per-source penalties, like OpenSSH 9.8's `PerSourcePenalties`: misbehaviour adds time to the
/// source's penalty; while a source's remaining penalty is at least `threshold`, its connections
/// are refused at accept.
public struct PenaltyPolicy: Sendable, Hashable {
    /// Whether penalties are applied at all. Default on.
    public var isEnabled = true
    /// Added for a wrong password. Default 5 s.
    public var wrongPassword: Duration = .seconds(5)
    /// Added for a handshake that ran out of time. Default 10 s.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Added for a protocol violation (malformed, out of order, tampered, oversized). Default 10 s.
    public var protocolViolation: Duration = .seconds(10)
    /// Added when a client disconnects before it is accepted, or is evicted to make room for a
    /// newcomer (a v1 client that gave the right password is exempt, PROTOCOL.md §9). Default 1 s.
    public var unauthenticatedDisconnect: Duration = .seconds(1)
    /// Added, on top of the above, for each second a connection held an unfinished-handshake slot
    /// before it ended without finishing (closed, evicted, timed out, failed). Default 0.6 s, so a
    /// slot held for 25 s earns 16 s, over the threshold on its own. Sources that finish their
    /// handshakes earn nothing, however slow.
    public var perSecondUnfinished: Duration = .milliseconds(600)
    /// A source is refused while its remaining penalty is at least this. Default 15 s.
    public var threshold: Duration = .seconds(15)
    /// The most penalty a source can accumulate. Default 10 minutes.
    public var maximum: Duration = .seconds(600)
    /// Sources tracked at once; when full, expired entries are dropped, and if none are, new
    /// sources go untracked (permissive, like OpenSSH's default). Default 65,536.
    public var maximumTrackedSources = 65_536
    /// Addresses never penalised: exact addresses or IPv4 and IPv6 CIDR blocks such as
    /// `10.0.0.0/8` or `2001:db8::/32`.
    public var exempt: [String] = []
    /// How long a wrong password waits before the rejection is sent. Default 1 s.
    public var wrongPasswordDelay: Duration = .seconds(1)
    /// A look at the server's key: a connection that closes at the hello (it sent no complete
    /// message) within `keyLookHeld` of being admitted earns nothing, once per source per
    /// `keyLookInterval`. This is how a client that has never seen the server's key shows it to
    /// its user before sending anything (`laboratory` does); further looks within the interval
    /// earn the usual penalties. 60 s and 5 s.
    package var keyLookInterval: Duration = .seconds(60)
    /// How long a connection may hold its slot and still count as a look at the key. 5 s.
    package var keyLookHeld: Duration = .seconds(5)

    /// The defaults.
    public init() {}

    /// The penalty a connection earns for ending with `reason`, having held an unfinished
    /// handshake for `unfinishedFor` (zero if it was accepted); `nil` if it earns none.
    func amount(for reason: CloseReason, wasAuthenticated: Bool, unfinishedFor held: Duration) -> Duration? {
        let base: Duration
        switch reason.code {
        case .wrongPassword: base = wrongPassword
        case .handshakeTimeout: base = handshakeTimeout
        // An invalid name (code 7) earns nothing: only a client that gave the right password gets
        // that far, and it could as well be accepted.
        case .protocolViolation, .decryptionFailed, .frameTooLarge, .keyExhausted:
            base = protocolViolation
        case .peerClosed where !wasAuthenticated, .refused where !wasAuthenticated:
            base = unauthenticatedDisconnect
        default: return nil
        }
        guard !wasAuthenticated, held > .zero else { return base }
        return base + perSecondUnfinished * (held / .seconds(1))
    }

    /// Whether `address` is on the exempt list.
    func isExempt(_ address: String) -> Bool {
        exempt.contains { AddressPattern($0)?.matches(address) ?? false }
    }
}

/// An exact address, or an IPv4 or IPv6 CIDR block (`10.0.0.0/8`, `2001:db8::/32`). IPv4-mapped
/// IPv6 addresses match as their IPv4 address.
package struct AddressPattern {
    private let exact: String?
    private let network: SourceAddress.Key?
    private let bits: Int

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            exact = text
            network = SourceAddress.parse(text)
            bits = -1
            return
        }
        guard let base = SourceAddress.parse(String(parts[0])), let bits = Int(parts[1]) else { return nil }
        switch base {
        case .v4: guard (0...32).contains(bits) else { return nil }
        case .v6: guard (0...128).contains(bits) else { return nil }
        case .other: return nil
        }
        exact = nil
        self.bits = bits
        network = Self.masked(base, bits)
    }

    package func matches(_ address: String) -> Bool {
        if let exact, exact == address { return true }
        guard let network, let parsed = SourceAddress.parse(address) else { return false }
        if bits < 0 { return parsed == network }
        return Self.masked(parsed, bits) == network
    }

    private static func masked(_ key: SourceAddress.Key, _ bits: Int) -> SourceAddress.Key? {
        switch key {
        case .v4(let value):
            guard bits <= 32 else { return nil }
            return .v4(bits == 0 ? 0 : value & (UInt32.max << (32 - UInt32(bits))))
        case .v6(let high, let low):
            let highMask: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : UInt64.max << (64 - UInt64(bits)))
            let lowMask: UInt64 = bits <= 64 ? 0 : (bits >= 128 ? .max : UInt64.max << (128 - UInt64(bits)))
            return .v6(high: high & highMask, low: low & lowMask)
        case .other:
            return nil
        }
    }
}
