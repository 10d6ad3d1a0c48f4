/// Limits on who may connect, checked when a connection is accepted, before any work is done
/// for it. The defaults and their reasons are in `Docs/SECURITY.md`.
public struct AdmissionPolicy: Sendable, Hashable {
    /// Connections of any kind at once; more are refused. Default 16,384.
    public var maximumConnections = 16_384
    /// Early random drop for connections that have not finished the handshake, like sshd's
    /// `MaxStartups start:rate:full`. Default 64:30:256.
    public var maxStartups = MaxStartups(start: 64, rate: 30, full: 256)
    /// Unauthenticated connections one source address may have at once. Default 16.
    public var maximumUnauthenticatedPerSource = 16
    /// Penalties for misbehaving sources.
    public var penalties = PenaltyPolicy()

    /// The defaults.
    public init() {}
}

/// sshd-style `MaxStartups`: from `start` unauthenticated connections on, refuse new ones with
/// probability `rate`%, rising linearly to 100% at `full`.
public struct MaxStartups: Sendable, Hashable {
    /// Unauthenticated connections from which refusals begin.
    public var start: Int
    /// The refusal probability at `start`, in percent.
    public var rate: Int
    /// Unauthenticated connections at which everything new is refused.
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
    /// Added when a client disconnects before authenticating. Default 1 s.
    public var unauthenticatedDisconnect: Duration = .seconds(1)
    /// A source is refused while its remaining penalty is at least this. Default 15 s.
    public var threshold: Duration = .seconds(15)
    /// The most penalty a source can accumulate. Default 10 minutes.
    public var maximum: Duration = .seconds(600)
    /// Sources tracked at once; when full, expired entries are dropped, and if none are, new
    /// sources go untracked (permissive, like OpenSSH's default). Default 65,536.
    public var maximumTrackedSources = 65_536
    /// Addresses never penalised: exact addresses or IPv4 CIDR blocks such as `10.0.0.0/8`.
    public var exempt: [String] = []
    /// How long a wrong password waits before the rejection is sent. Default 1 s.
    public var wrongPasswordDelay: Duration = .seconds(1)

    /// The defaults.
    public init() {}

    /// Whether `address` is on the exempt list.
    func isExempt(_ address: String) -> Bool {
        exempt.contains { AddressPattern($0)?.matches(address) ?? false }
    }
}

/// An exact address or an IPv4 CIDR block.
struct AddressPattern {
    private let exact: String?
    private let network: UInt32
    private let mask: UInt32

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else {
            exact = text
            network = 0
            mask = 0
            return
        }
        guard let base = Self.ipv4(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits) else {
            return nil
        }
        exact = nil
        mask = bits == 0 ? 0 : UInt32.max << (32 - UInt32(bits))
        network = base & mask
    }

    func matches(_ address: String) -> Bool {
        if let exact { return exact == address }
        guard let value = Self.ipv4(address) else { return false }
        return value & mask == network
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
