import LaboratoryProtocol
import LaboratoryTestSupport
import Synchronization
import Testing

@testable import Laboratory

/// Admission's decisions with plain values: addresses as text, instants passed in, the random
/// drop's die fixed. No sockets.
@Suite("Admission table")
struct AdmissionTableTests {
    static let start = ContinuousClock.now

    static func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    /// A table of `full` slots whose early drop begins at `start` and refuses everything
    /// (rate 100), with generous per-address and per-network caps unless given.
    static func table(
        start: Int = 4, full: Int = 8, perSource: Int = 16, perNetwork: Int = 32, maximumConnections: Int = 100
    ) -> AdmissionTable {
        var policy = AdmissionPolicy()
        policy.maxStartups = MaxStartups(start: start, rate: 100, full: full)
        policy.maximumUnauthenticatedPerSource = perSource
        policy.maximumUnauthenticatedPerNetwork = perNetwork
        policy.maximumConnections = maximumConnections
        return AdmissionTable(policy: policy)
    }

    /// Admits from `source` at `time`; requires admission and returns the id and what it evicted.
    @discardableResult
    static func admit(
        _ table: inout AdmissionTable, _ source: String, at time: Double = 0, roll: Int = 0,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (id: UInt64, evicting: UInt64?) {
        let decision = table.admit(SourceAddress(source), at: at(time), roll: roll)
        guard case .admit(let id, let evicting) = decision else {
            Issue.record("\(source) was refused: \(decision)", sourceLocation: sourceLocation)
            throw RawClientError("refused")
        }
        return (id, evicting)
    }

    static func refusal(_ table: inout AdmissionTable, _ source: String, at time: Double = 0, roll: Int = 0)
        -> String?
    {
        if case .refuse(let reason) = table.admit(SourceAddress(source), at: at(time), roll: roll) {
            return reason.message
        }
        return nil
    }

    @Test("addresses group by IPv4 /24 and IPv6 /64; penalties are per IPv4 address and per IPv6 /64")
    func grouping() {
        let a = SourceAddress("192.0.2.10")
        let b = SourceAddress("192.0.2.200")
        let c = SourceAddress("192.0.3.10")
        #expect(a.network == b.network && a.network != c.network)
        #expect(a.penaltyKey != b.penaltyKey)
        let mapped = SourceAddress("::ffff:192.0.2.10")
        #expect(mapped.address == a.address && mapped.penaltyKey == a.penaltyKey)
        let v6a = SourceAddress("2001:db8:1:2::1")
        let v6b = SourceAddress("2001:db8:1:2:ffff::9")
        let v6c = SourceAddress("2001:db8:1:3::1")
        #expect(v6a.address != v6b.address)
        #expect(v6a.network == v6b.network && v6a.penaltyKey == v6b.penaltyKey)
        #expect(v6a.network != v6c.network)
        #expect(SourceAddress("unknown").address == .other("unknown"))
    }

    @Test("exempt patterns: exact addresses and IPv4 and IPv6 CIDR blocks")
    func patterns() throws {
        let v4 = try #require(AddressPattern("10.0.0.0/8"))
        #expect(v4.matches("10.200.1.1") && v4.matches("::ffff:10.1.2.3") && !v4.matches("11.0.0.1"))
        let v6 = try #require(AddressPattern("2001:db8::/32"))
        #expect(v6.matches("2001:db8:ffff::1") && !v6.matches("2001:db9::1") && !v6.matches("10.0.0.1"))
        let host = try #require(AddressPattern("2001:db8::1/128"))
        #expect(host.matches("2001:db8:0:0::1") && !host.matches("2001:db8::2"))
        let exact = try #require(AddressPattern("::1"))
        #expect(exact.matches("::1") && exact.matches("0:0:0:0:0:0:0:1") && !exact.matches("::2"))
        #expect(AddressPattern("10.0.0.0/33") == nil)
        #expect(AddressPattern("2001:db8::/129") == nil)
        #expect(AddressPattern("nonsense/8") == nil)
        #expect(try #require(AddressPattern("0.0.0.0/0")).matches("203.0.113.9"))
    }

    /// An attacker with more networks than the table has slots cycles connections, each newcomer
    /// from a network that holds nothing (the one whose handshake was just evicted, at a fresh
    /// address; or, in IPv6, a fresh /64 of its /48). By age alone the honest handshake becomes
    /// the oldest after `full` evictions and is evicted in turn; ordered by the blocks' records of
    /// unfinished handshakes, the attacker's own go first, however old the honest one gets.
    @Test(
        "eviction abuse: an attacker cycling through more networks than slots evicts its own handshakes, never a handshake from a block whose handshakes finish",
        arguments: [false, true])
    func evictionAbuse(ipv6: Bool) throws {
        var table = Self.table(start: 4, full: 8)
        // IPv4: the attacker's /24s are reused (each at a fresh address). IPv6: every newcomer
        // comes from a /64 never seen before, all in one /48.
        let honestAddress = ipv6 ? "2001:db8:2::1" : "10.9.0.1"
        let freshNetworks = ipv6
        func address(_ network: Int, _ host: Int) -> String {
            ipv6 ? "2001:db8:1:\(String(network, radix: 16))::\(host)" : "10.1.\(network).\(host)"
        }
        var networkOf: [UInt64: Int] = [:]
        for network in 1...8 { networkOf[try Self.admit(&table, address(network, 1), at: 0).id] = network }
        let honest = try Self.admit(&table, honestAddress, at: 1)
        var free = [networkOf[try #require(honest.evicting)]!]
        table.closed(try #require(honest.evicting), at: Self.at(1))
        for round in 0..<40 {
            let network = freshNetworks ? 100 + round : free.removeFirst()
            let newcomer = try Self.admit(&table, address(network, round + 2), at: 2 + Double(round) / 10)
            networkOf[newcomer.id] = network
            let victim = try #require(newcomer.evicting)
            #expect(victim != honest.id, "round \(round): the honest handshake was evicted")
            guard victim != honest.id else { return }
            free.append(networkOf[victim]!)
            table.closed(victim, at: Self.at(2 + Double(round) / 10))
        }
        #expect(table.isUnfinished(honest.id))
    }

    @Test("a full table: a newcomer from a lighter network evicts the heaviest network's oldest handshake")
    func evictsOldestOfHeaviest() throws {
        var table = Self.table(start: 8, full: 8)
        var byAddress: [String: [UInt64]] = [:]
        // Network 10.0.0.0/24 holds 6 (5 from .1, 1 from .2); 10.0.1.0/24 holds 2.
        for (index, source) in [
            "10.0.0.2", "10.0.0.1", "10.0.0.1", "10.0.1.1", "10.0.0.1", "10.0.0.1", "10.0.1.1", "10.0.0.1",
        ].enumerated() {
            byAddress[source, default: []].append(try Self.admit(&table, source, at: Double(index)).id)
        }
        #expect(table.unauthenticated == 8)
        let newcomer = try Self.admit(&table, "192.0.2.1", at: 10)
        // The heaviest address of the heaviest network, its oldest handshake (not 10.0.0.2's,
        // which is older but from a lighter address).
        #expect(newcomer.evicting == byAddress["10.0.0.1"]?.first)
        #expect(table.unauthenticated == 8 && table.total == 9)
        #expect(table.unfinishedCount(of: SourceAddress("10.0.0.1")) == (4, 5))
        #expect(!table.isUnfinished(try #require(newcomer.evicting)))
        // The evicted connection stays in the total until it has closed.
        table.closed(try #require(newcomer.evicting), at: Self.at(0))
        #expect(table.total == 8 && table.unauthenticated == 8)
        // The next newcomer takes the next oldest of that address.
        let next = try Self.admit(&table, "192.0.2.77", at: 11)
        #expect(next.evicting == byAddress["10.0.0.1"]?[1])
    }

    @Test("a full table refuses a newcomer whose network already holds its fair share")
    func refusesAtFairShare() throws {
        var table = Self.table()
        for index in 0..<4 { try Self.admit(&table, "10.0.0.1", at: Double(index)) }
        for index in 0..<4 { try Self.admit(&table, "10.0.1.\(index + 1)", at: Double(index)) }
        // Two networks share 8 slots: 4 each. Another handshake from either is refused.
        #expect(Self.refusal(&table, "10.0.0.1", at: 9) == AdmissionTable.busy.message)
        #expect(Self.refusal(&table, "10.0.1.1", at: 9) == AdmissionTable.busy.message)
        // A new address in a network at its share takes a slot only from an address of its own
        // network that holds at least two more: here every address holds one.
        #expect(Self.refusal(&table, "10.0.1.9", at: 9) == AdmissionTable.busy.message)
        // A third network's share is 8 / 3 = 2; it evicts.
        #expect(try Self.admit(&table, "10.0.2.1", at: 9).evicting != nil)
        #expect(try Self.admit(&table, "10.0.2.2", at: 9).evicting != nil)
        #expect(Self.refusal(&table, "10.0.2.3", at: 9) == AdmissionTable.busy.message)
    }

    @Test("within one network, an address below its share evicts the network's heaviest address")
    func evictsWithinNetwork() throws {
        var table = Self.table()
        var heavy: [UInt64] = []
        for index in 0..<7 { heavy.append(try Self.admit(&table, "10.0.0.1", at: Double(index)).id) }
        try Self.admit(&table, "10.0.0.2", at: 7)
        #expect(try Self.admit(&table, "10.0.0.3", at: 8).evicting == heavy[0])
        // 10.0.0.1 still holds the most but is at or above its share now: refused.
        #expect(Self.refusal(&table, "10.0.0.1", at: 9) == AdmissionTable.busy.message)
    }

    @Test("between start and full, the early drop spares newcomers below their share")
    func earlyDropSparesTheLight() throws {
        /// 10.0.0.0/24 takes 4 of 5 slots, 10.0.1.0/24 one: two networks, a share of 4 each.
        func filled(_ table: inout AdmissionTable) throws {
            for index in 0..<3 { try Self.admit(&table, "10.0.0.1", at: Double(index)) }
            try Self.admit(&table, "10.0.1.1", at: 3)
            // Past `start` already, but below its share: never dropped, whatever the roll.
            try Self.admit(&table, "10.0.0.1", at: 4, roll: 0)
        }
        var table = Self.table(start: 4, full: 8)
        try filled(&table)
        // Rate 100 and a roll of 0: anyone the drop applies to is refused.
        #expect(Self.refusal(&table, "10.0.0.1", roll: 0) == AdmissionTable.busy.message)
        #expect(try Self.admit(&table, "192.0.2.1", roll: 0).evicting == nil)
        // With rate 30, at 5 open of start 4 and full 8 the drop refuses 30 + 70 / 4 = 47%.
        var policy = table.policy
        policy.maxStartups = MaxStartups(start: 4, rate: 30, full: 8)
        var gentle = AdmissionTable(policy: policy)
        try filled(&gentle)
        #expect(gentle.admit(SourceAddress("10.0.0.1"), at: Self.at(5), roll: 46) == .refuse(AdmissionTable.busy))
        #expect(try Self.admit(&gentle, "10.0.0.1", at: 5, roll: 47).evicting == nil)
    }

    @Test("per-address and per-network caps; IPv6 addresses in one /64 share a network")
    func caps() throws {
        var table = Self.table(start: 100, full: 100, perSource: 2, perNetwork: 3)
        try Self.admit(&table, "2001:db8::1")
        try Self.admit(&table, "2001:db8::1")
        #expect(Self.refusal(&table, "2001:db8::1") == "too many unfinished handshakes from your address")
        try Self.admit(&table, "2001:db8::2")
        #expect(Self.refusal(&table, "2001:db8::3") == "too many unfinished handshakes from your network")
        try Self.admit(&table, "2001:db8:0:1::3")
        var small = Self.table(start: 100, full: 100, maximumConnections: 2)
        let first = try Self.admit(&small, "10.0.0.1")
        try Self.admit(&small, "10.0.1.1")
        small.authenticated(first.id)
        #expect(Self.refusal(&small, "10.0.2.1") == "the server has too many connections")
        small.closed(first.id, at: Self.at(0))
        try Self.admit(&small, "10.0.2.1")
    }

    @Test("a slot held without finishing earns penalty for the time it was held")
    func heldTimePenalty() {
        let penalties = PenaltyPolicy()
        let closed = CloseReason(.peerClosed, "gone")
        #expect(penalties.amount(for: closed, wasAuthenticated: false, unfinishedFor: .zero) == .seconds(1))
        // 25 s held: 1 s + 25 × 0.6 s = 16 s, over the 15 s threshold on its own.
        let held = penalties.amount(for: closed, wasAuthenticated: false, unfinishedFor: .seconds(25))
        #expect(held == .seconds(16) && held! >= penalties.threshold)
        #expect(
            penalties.amount(for: Admission.evictionReason, wasAuthenticated: false, unfinishedFor: .seconds(5))
                == .seconds(4))
        #expect(
            penalties.amount(
                for: CloseReason(.handshakeTimeout, "late"), wasAuthenticated: false, unfinishedFor: .seconds(10))
                == .seconds(16))
        // An accepted session that closes earns nothing; one that misbehaves earns the base only.
        #expect(penalties.amount(for: closed, wasAuthenticated: true, unfinishedFor: .zero) == nil)
        #expect(
            penalties.amount(for: CloseReason(.protocolViolation, "bad"), wasAuthenticated: true, unfinishedFor: .zero)
                == .seconds(10))
        #expect(
            penalties.amount(
                for: CloseReason(.serverStopping, "bye"), wasAuthenticated: false, unfinishedFor: .seconds(9)) == nil)
    }

    @Test("penalties lock out an IPv4 address (not its /24) and a whole IPv6 /64, and drain with time")
    func penaltyKeys() throws {
        var table = Self.table(start: 100, full: 100)
        table.penalize(SourceAddress("10.0.0.1"), by: .seconds(20), at: Self.at(0))
        // 20 s of penalty, 1 s later: 4 s until it falls below the 15 s threshold.
        #expect(Self.refusal(&table, "10.0.0.1", at: 1) == "too many failures from your address; try again in 4s")
        try Self.admit(&table, "10.0.0.2", at: 1)
        table.penalize(SourceAddress("2001:db8::1"), by: .seconds(20), at: Self.at(0))
        #expect(Self.refusal(&table, "2001:db8::ffff:2", at: 1) != nil)
        try Self.admit(&table, "2001:db8:0:1::1", at: 1)
        // 20 s drains below the 15 s threshold after 5 s.
        #expect(Self.refusal(&table, "10.0.0.1", at: 4.9) != nil)
        try Self.admit(&table, "10.0.0.1", at: 5.1)
        try Self.admit(&table, "2001:db8::1", at: 5.1)
        // Exempt blocks earn nothing.
        var policy = table.policy
        policy.penalties.exempt = ["2001:db8::/48"]
        var exempt = AdmissionTable(policy: policy)
        exempt.penalize(SourceAddress("2001:db8::1"), by: .seconds(60), at: Self.at(0))
        try Self.admit(&exempt, "2001:db8::1", at: 1)
        // An exempt address is let in even when others in its /64 have earned it a penalty.
        policy.penalties.exempt = ["2001:db8:1::7"]
        var shared = AdmissionTable(policy: policy)
        shared.penalize(SourceAddress("2001:db8:1::8"), by: .seconds(60), at: Self.at(0))
        #expect(Self.refusal(&shared, "2001:db8:1::9", at: 1) != nil)
        try Self.admit(&shared, "2001:db8:1::7", at: 1)
    }

    @Test("an eviction ends the connection through its handler, even one not yet registered")
    func evictionHandlers() throws {
        var policy = AdmissionPolicy()
        policy.maxStartups = MaxStartups(start: 1, rate: 100, full: 2)
        let admission = Admission(policy: policy)
        guard case .admitted(let first) = admission.admit(source: "10.0.0.1"),
            case .admitted(let second) = admission.admit(source: "10.0.0.1")
        else {
            Issue.record("the first two were refused")
            return
        }
        let reasons = Mutex<[UInt64: CloseReason]>([:])
        admission.onEviction(first) { reason in reasons.withLock { $0[first.id] = reason } }
        guard case .admitted = admission.admit(source: "10.0.1.1") else {
            Issue.record("the newcomer was refused")
            return
        }
        #expect(reasons.withLock { $0[first.id] } == Admission.evictionReason)
        // Evicted before it registered: the handler runs as it registers.
        guard case .admitted = admission.admit(source: "10.0.2.1") else {
            Issue.record("the second newcomer was refused")
            return
        }
        admission.onEviction(second) { reason in reasons.withLock { $0[second.id] = reason } }
        #expect(reasons.withLock { $0[second.id] } == Admission.evictionReason)
        #expect(admission.counts.total == 4 && admission.counts.unauthenticated == 2)
        admission.closed(first)
        admission.closed(second)
        #expect(admission.counts.total == 2 && admission.counts.unauthenticated == 2)
    }
}
