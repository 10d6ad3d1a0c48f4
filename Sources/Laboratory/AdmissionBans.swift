import LaboratoryProtocol

/// Addresses and CIDR blocks the operator has banned for a while (the admin API's `ban`):
/// admission refuses their new connections, on every listener, until the ban expires. A value,
/// with time passed in; ``Admission`` holds one behind its lock.
struct AdmissionBans {
    /// One ban: what it matches, as given, and until when.
    struct Ban: Equatable {
        let pattern: String
        let until: ContinuousClock.Instant
    }

    /// The most bans held at once; more are refused (an operator's list, not an attacker's).
    static let maximumCount = 4096

    private var bans: [(ban: Ban, matcher: AddressPattern)] = []

    /// Bans `pattern` (an address or a CIDR block) until `until`, replacing an earlier ban of the
    /// same pattern. Returns false if the pattern is neither, or if the list is full of bans that
    /// have not expired.
    mutating func add(_ pattern: String, until: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Bool {
        // An address or a block only: `AddressPattern` would also take any text as an exact match.
        guard let matcher = AddressPattern(pattern), SourceAddress.parse(String(pattern.prefix { $0 != "/" })) != nil
        else { return false }
        bans.removeAll { $0.ban.pattern == pattern || $0.ban.until <= now }
        guard bans.count < Self.maximumCount else { return false }
        bans.append((Ban(pattern: pattern, until: until), matcher))
        return true
    }

    /// How much longer `source` is banned, if it is (the longest of the bans that match it).
    func remaining(for source: SourceAddress, at now: ContinuousClock.Instant) -> Duration? {
        var longest: Duration?
        for (ban, matcher) in bans where ban.until > now && matcher.matches(source.description) {
            longest = max(longest ?? .zero, ban.until - now)
        }
        return longest
    }

    /// The bans that have not expired at `now`.
    func active(at now: ContinuousClock.Instant) -> [Ban] { bans.map(\.ban).filter { $0.until > now } }
}
