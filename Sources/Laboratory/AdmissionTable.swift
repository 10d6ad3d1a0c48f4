import LaboratoryProtocol

/// Admission's decisions as a value: the connection counts, the unfinished-handshake table and
/// the penalties, with time and chance passed in, so every decision can be tested with plain
/// values. ``Admission`` holds one behind a lock and carries out its evictions.
///
/// The unfinished-handshake table holds up to `maxStartups.full` handshakes. It is shared fairly:
/// a newcomer whose network (IPv4 /24, IPv6 /64) holds fewer than its fair share (`full` divided
/// by the number of networks with a handshake in the table, itself included), or whose address
/// holds fewer than its share of its network's, is never dropped because others flood. While
/// there is room it is admitted whatever the early random drop says; when the table is full it
/// takes the slot of the oldest unfinished handshake of the heaviest address of the heaviest
/// network, provided that network holds more than the newcomer's (or, for a newcomer whose
/// network holds its share, the heaviest address of its own network, provided that address holds
/// at least two more than the newcomer's). Everyone else meets sshd's early random drop and, when
/// the table is full, a refusal.
///
/// Among candidates for eviction of equal weight, the one whose block (IPv4 /24, IPv6 /48) has
/// most recently had handshakes end unfinished (evicted, abandoned, timed out) goes first, and
/// only then the oldest: an attacker with more networks than the table has slots, who cycles
/// connections to push honest handshakes out by age, evicts its own handshakes first, while a
/// block whose handshakes finish keeps its place (see ``churn``).
struct AdmissionTable {
    /// What to do with a new connection.
    enum Decision: Equatable {
        /// Serve it under `id`; if `evicting` is set, end that unfinished handshake to make room.
        case admit(id: UInt64, evicting: UInt64?)
        /// Refuse it with this reason (sent instead of the hello).
        case refuse(CloseReason)
    }

    private struct Unfinished {
        let source: SourceAddress
        let since: ContinuousClock.Instant
    }

    /// The limits in force; ``Admission/update(policy:)`` replaces them while the server runs.
    var policy: AdmissionPolicy
    /// Connections of any kind admitted and not yet closed.
    private(set) var total = 0
    private var unfinished: [UInt64: Unfinished] = [:]
    private var byAddress: [SourceAddress.Key: Int] = [:]
    private var byNetwork: [SourceAddress.Key: Int] = [:]
    private(set) var penaltyUntil: [SourceAddress.Key: ContinuousClock.Instant] = [:]
    /// Per penalised source (``SourceAddress/penaltyKey``): when it last looked at the key for
    /// free (see ``PenaltyPolicy/keyLookInterval``). Bounded like `penaltyUntil`.
    private(set) var keyLooks: [SourceAddress.Key: ContinuousClock.Instant] = [:]
    /// Per block (``SourceAddress/churnKey``): how many of its handshakes ended unfinished,
    /// halving every ``churnHalfLife``, as of the instant stored with it. It only orders victims
    /// of eviction; it never refuses anyone, so a busy carrier-grade NAT block is not locked out.
    private(set) var churn: [SourceAddress.Key: (score: Double, at: ContinuousClock.Instant)] = [:]
    private var nextID: UInt64 = 1

    init(policy: AdmissionPolicy) { self.policy = policy }

    /// Unfinished handshakes open now.
    var unauthenticated: Int { unfinished.count }

    /// Whether `id` is an unfinished handshake still in the table.
    func isUnfinished(_ id: UInt64) -> Bool { unfinished[id] != nil }

    /// Unfinished handshakes from `source`'s address and from its network.
    func unfinishedCount(of source: SourceAddress) -> (address: Int, network: Int) {
        (byAddress[source.address, default: 0], byNetwork[source.network, default: 0])
    }

    /// Decides about a new connection from `source` at `now`. `roll`, uniform in `0..<100`, is the
    /// die for the early random drop.
    mutating func admit(_ source: SourceAddress, at now: ContinuousClock.Instant, roll: Int) -> Decision {
        // An exempt address is let in even when its IPv6 /64 has earned a penalty from others.
        if policy.penalties.isEnabled, let until = penaltyUntil[source.penaltyKey],
            !policy.penalties.isExempt(source.description)
        {
            if until - now >= policy.penalties.threshold {
                return .refuse(Self.lockedOut(for: until - now - policy.penalties.threshold))
            }
            if until <= now { penaltyUntil.removeValue(forKey: source.penaltyKey) }
        }
        guard total < policy.maximumConnections else {
            return .refuse(Self.full)
        }
        let (addressCount, networkCount) = unfinishedCount(of: source)
        guard addressCount < policy.maximumUnauthenticatedPerSource else {
            return .refuse(Self.addressUnfinished)
        }
        guard networkCount < policy.maximumUnauthenticatedPerNetwork else {
            return .refuse(Self.networkUnfinished)
        }
        var evicting: UInt64?
        let startups = policy.maxStartups
        if unfinished.count >= startups.start {
            let isFull = unfinished.count >= startups.full
            let victim = fairShareVictim(
                for: source, addressCount: addressCount, networkCount: networkCount, choosing: isFull, at: now)
            if isFull {
                guard let victim = victim ?? nil else { return .refuse(Self.busy) }
                if let entry = evict(victim) { recordChurn(entry.source, at: now) }
                evicting = victim
            } else if victim == nil, roll < startups.refusalPercent(unauthenticated: unfinished.count) {
                return .refuse(Self.busy)
            }
        }
        let id = nextID
        nextID += 1
        total += 1
        unfinished[id] = Unfinished(source: source, since: now)
        byAddress[source.address, default: 0] += 1
        byNetwork[source.network, default: 0] += 1
        return .admit(id: id, evicting: evicting)
    }

    static let busy = CloseReason(.refused, "the server is busy with handshakes; try again")
    static let lockedOut = CloseReason(.refused, "too many failures from your address; try again later")
    static let full = CloseReason(.refused, "the server has too many connections")
    static let addressUnfinished = CloseReason(.refused, "too many unfinished handshakes from your address")
    static let networkUnfinished = CloseReason(.refused, "too many unfinished handshakes from your network")

    /// Which of the reasons above `reason` is, as the metrics' label names it.
    static func refusal(_ reason: CloseReason) -> AdmissionRefusal {
        // Only a lockout's refusal says when to come back.
        if reason.retryAfter != nil { return .lockedOut }
        switch reason {
        case lockedOut: return .lockedOut
        case full: return .serverFull
        case addressUnfinished: return .addressUnfinished
        case networkUnfinished: return .networkUnfinished
        default: return .busy
        }
    }

    /// A locked-out source's refusal: code 15 with the time until its penalty falls below the
    /// threshold, in words and as `retry_ms` (PROTOCOL.md §9, *Admission*).
    static func lockedOut(for remaining: Duration) -> CloseReason {
        let remaining = max(remaining, .milliseconds(1))
        return CloseReason(
            .refused, "too many failures from your address; try again in \(remaining.spoken)", retryAfter: remaining)
    }

    /// How fast a block's record of unfinished handshakes fades.
    static let churnHalfLife: Duration = .seconds(60)
    /// Blocks whose record of unfinished handshakes is tracked at once (like the penalties').
    static let maximumChurnBlocks = 65_536

    /// `block`'s record of unfinished handshakes at `now`.
    func churnScore(of block: SourceAddress.Key, at now: ContinuousClock.Instant) -> Double {
        guard let entry = churn[block] else { return 0 }
        let halfLives = (now - entry.at) / Self.churnHalfLife
        guard halfLives > 0 else { return entry.score }
        guard halfLives < 64 else { return 0 }
        // Halved for each whole half-life, linearly in between (monotonic, no libm needed).
        let whole = halfLives.rounded(.down)
        let halved = Double(sign: .plus, exponent: -Int(whole), significand: 1)
        return entry.score * halved * (1 - (halfLives - whole) / 2)
    }

    /// One more of `source`'s handshakes ended unfinished at `now`.
    private mutating func recordChurn(_ source: SourceAddress, at now: ContinuousClock.Instant) {
        let block = source.churnKey
        if churn[block] == nil, churn.count >= Self.maximumChurnBlocks {
            churn = churn.filter { churnScore(of: $0.key, at: now) >= 0.01 }
            guard churn.count < Self.maximumChurnBlocks else { return }
        }
        churn[block] = (churnScore(of: block, at: now) + 1, now)
    }

    /// `nil` if the newcomer holds at least its fair share (it meets the early drop); otherwise
    /// `.some` of the handshake it may take the place of, or `.some(nil)` if none holds more than
    /// it does (or if not `choosing`: the table is not full, and no victim is needed).
    private func fairShareVictim(
        for source: SourceAddress, addressCount: Int, networkCount: Int, choosing: Bool,
        at now: ContinuousClock.Instant
    ) -> UInt64?? {
        let networks = byNetwork.count + (networkCount == 0 ? 1 : 0)
        let networkShare = max(1, policy.maxStartups.full / networks)
        if networkCount < networkShare {
            let heaviest = byNetwork.values.max() ?? 0
            guard choosing, networkCount < heaviest else { return .some(nil) }
            return .some(oldest(at: now) { byNetwork[$0.network] == heaviest })
        }
        // The network holds its share; within it, an address below its share of the network's
        // may still take a slot from the network's heaviest address.
        var addresses: [SourceAddress.Key: Int] = [:]
        for entry in unfinished.values where entry.source.network == source.network {
            addresses[entry.source.address, default: 0] += 1
        }
        let addressShare = max(1, networkShare / (addresses.count + (addressCount == 0 ? 1 : 0)))
        guard addressCount < addressShare else { return nil }
        // Only for a real gain: swapping one address of the network for another of equal weight
        // would only churn the network's own handshakes.
        let heaviest = addresses.values.max() ?? 0
        guard choosing, addressCount + 1 < heaviest else { return .some(nil) }
        return .some(oldest(at: now) { $0.network == source.network && addresses[$0.address] == heaviest })
    }

    /// Among the unfinished handshakes whose source passes `isCandidate`: of the address with the
    /// most handshakes, the one whose block has the most recent unfinished handshakes, and of
    /// those the oldest.
    private func oldest(at now: ContinuousClock.Instant, where isCandidate: (SourceAddress) -> Bool) -> UInt64? {
        var best: (id: UInt64, count: Int, churn: Double, since: ContinuousClock.Instant)?
        var scores: [SourceAddress.Key: Double] = [:]
        for (id, entry) in unfinished where isCandidate(entry.source) {
            let count = byAddress[entry.source.address, default: 0]
            let block = entry.source.churnKey
            let churn = scores[block] ?? churnScore(of: block, at: now)
            scores[block] = churn
            if let current = best {
                guard count >= current.count else { continue }
                if count == current.count {
                    guard churn >= current.churn else { continue }
                    if churn == current.churn, (entry.since, id) > (current.since, current.id) { continue }
                }
            }
            best = (id, count, churn, entry.since)
        }
        return best?.id
    }

    /// Takes `id` out of the unfinished table (it was evicted, or finished its handshake) and
    /// returns its entry, `nil` if it was not there; it still counts towards the total until
    /// ``closed(_:at:)``.
    @discardableResult
    private mutating func evict(_ id: UInt64) -> Unfinished? {
        guard let entry = unfinished.removeValue(forKey: id) else { return nil }
        Self.decrement(&byAddress, entry.source.address)
        Self.decrement(&byNetwork, entry.source.network)
        return entry
    }

    /// Connection `id` finished its handshake: it leaves the unfinished table.
    mutating func authenticated(_ id: UInt64) { evict(id) }

    /// Connection `id` ended at `now` (whether or not it finished, or was evicted). One that ends
    /// unfinished adds to its block's churn.
    mutating func closed(_ id: UInt64, at now: ContinuousClock.Instant) {
        if let entry = evict(id) { recordChurn(entry.source, at: now) }
        total -= 1
    }

    /// Adds `amount` of penalty to `source` at `now`, within the policy's maximum and the bound
    /// on tracked sources. Exempt sources earn nothing.
    mutating func penalize(_ source: SourceAddress, by amount: Duration, at now: ContinuousClock.Instant) {
        let penalties = policy.penalties
        guard penalties.isEnabled, !penalties.isExempt(source.description) else { return }
        let key = source.penaltyKey
        if penaltyUntil[key] == nil, penaltyUntil.count >= penalties.maximumTrackedSources {
            penaltyUntil = penaltyUntil.filter { $0.value > now }
            guard penaltyUntil.count < penalties.maximumTrackedSources else { return }
        }
        let base = max(penaltyUntil[key] ?? now, now)
        penaltyUntil[key] = min(base.advanced(by: amount), now.advanced(by: penalties.maximum))
    }

    /// Whether `source` may close at the hello without penalty now: only if its last free look
    /// is at least ``PenaltyPolicy/keyLookInterval`` old; then this one is recorded. When as many
    /// sources as are tracked have looked within the interval, no look is free (the usual
    /// penalty applies), so the record cannot be flushed to make looks free.
    mutating func takeKeyLook(_ source: SourceAddress, at now: ContinuousClock.Instant) -> Bool {
        let penalties = policy.penalties
        let key = source.penaltyKey
        if let last = keyLooks[key], now - last < penalties.keyLookInterval { return false }
        if keyLooks[key] == nil, keyLooks.count >= penalties.maximumTrackedSources {
            keyLooks = keyLooks.filter { now - $0.value < penalties.keyLookInterval }
            guard keyLooks.count < penalties.maximumTrackedSources else { return false }
        }
        keyLooks[key] = now
        return true
    }

    private static func decrement(_ counts: inout [SourceAddress.Key: Int], _ key: SourceAddress.Key) {
        let remaining = counts[key, default: 0] - 1
        counts[key] = remaining > 0 ? remaining : nil
    }
}
