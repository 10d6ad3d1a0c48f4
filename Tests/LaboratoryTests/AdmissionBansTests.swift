import Testing

@testable import Laboratory

/// The operator's ban list with plain values: instants passed in, no sockets.
@Suite("Admission bans")
struct AdmissionBansTests {
    static let now = ContinuousClock.now

    @Test("an address or a block is banned until its instant, then not; others never")
    func expiry() {
        var bans = AdmissionBans()
        let banned = bans.add("192.0.2.0/24", until: Self.now + .seconds(60), now: Self.now)
        #expect(banned)
        let bannedV6 = bans.add("2001:db8::/48", until: Self.now + .seconds(10), now: Self.now)
        #expect(bannedV6)
        #expect(bans.remaining(for: SourceAddress("192.0.2.200"), at: Self.now) == .seconds(60))
        #expect(bans.remaining(for: SourceAddress("::ffff:192.0.2.7"), at: Self.now) == .seconds(60))
        #expect(bans.remaining(for: SourceAddress("2001:db8:0:ffff::1"), at: Self.now + .seconds(4)) == .seconds(6))
        #expect(bans.remaining(for: SourceAddress("192.0.3.1"), at: Self.now) == nil)
        #expect(bans.remaining(for: SourceAddress("2001:db9::1"), at: Self.now) == nil)
        #expect(bans.remaining(for: SourceAddress("192.0.2.200"), at: Self.now + .seconds(60)) == nil)
        #expect(bans.active(at: Self.now + .seconds(30)).map(\.pattern) == ["192.0.2.0/24"])
    }

    @Test("banning a pattern again replaces its ban; the longest matching ban counts")
    func replaceAndLongest() {
        var bans = AdmissionBans()
        let first = bans.add("198.51.100.7", until: Self.now + .seconds(600), now: Self.now)
        #expect(first)
        let replaced = bans.add("198.51.100.7", until: Self.now + .seconds(5), now: Self.now)
        #expect(replaced)
        #expect(bans.remaining(for: SourceAddress("198.51.100.7"), at: Self.now) == .seconds(5))
        let block = bans.add("198.51.100.0/24", until: Self.now + .seconds(50), now: Self.now)
        #expect(block)
        #expect(bans.remaining(for: SourceAddress("198.51.100.7"), at: Self.now) == .seconds(50))
        #expect(bans.active(at: Self.now).count == 2)
    }

    @Test("text that is neither an address nor a CIDR block is refused")
    func malformed() {
        var bans = AdmissionBans()
        for pattern in ["", "example.com", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "/24", "unknown"] {
            let added = bans.add(pattern, until: Self.now + .seconds(1), now: Self.now)
            #expect(!added, "\(pattern)")
        }
        #expect(bans.active(at: Self.now).isEmpty)
    }

    @Test("the list is bounded; expired bans make room")
    func bounded() {
        var bans = AdmissionBans()
        for index in 0..<AdmissionBans.maximumCount {
            let address = "10.\(index / 65_536).\(index / 256 % 256).\(index % 256)"
            let added = bans.add(address, until: Self.now + .seconds(10), now: Self.now)
            #expect(added)
        }
        let whenFull = bans.add("172.16.0.1", until: Self.now + .seconds(10), now: Self.now)
        #expect(!whenFull)
        let afterExpiry = bans.add("172.16.0.1", until: Self.now + .seconds(30), now: Self.now + .seconds(10))
        #expect(afterExpiry)
        #expect(bans.active(at: Self.now + .seconds(10)).map(\.pattern) == ["172.16.0.1"])
    }
}
