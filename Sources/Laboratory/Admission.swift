import LaboratoryProtocol
import Logging
import NIOConcurrencyHelpers

/// One admitted connection's place in the admission counts.
package struct AdmissionTicket: Sendable {
    let id: UInt64
    let source: SourceAddress
    /// When it was admitted: the start of the time it holds an unfinished-handshake slot.
    package let admitted: ContinuousClock.Instant
}

/// Whether a new connection is served.
package enum AdmissionOutcome: Sendable {
    case admitted(AdmissionTicket)
    /// Refused, with the reason sent instead of the hello.
    case refused(CloseReason)
}

/// Counts connections and penalties and decides, at accept, whether a new connection may proceed
/// (an ``AdmissionTable`` behind a lock). When a newcomer takes the slot of an unfinished
/// handshake, that connection's eviction handler ends it.
final class Admission: Sendable {
    /// What an evicted connection is told (code 15, refused), sealed if its keys are installed.
    static let evictionReason = CloseReason(
        .refused, "evicted: the server is full of unfinished handshakes; try again")

    private struct State {
        var table: AdmissionTable
        /// How to end each unfinished connection that has registered one.
        var evictionHandlers: [UInt64: @Sendable (CloseReason) -> Void] = [:]
        /// Connections evicted before they registered a handler: ended as they register.
        var evictedEarly: Set<UInt64> = []
        /// The operator's bans (the admin API), checked before everything else.
        var bans = AdmissionBans()
        /// Who waits for the last open connection to end (``allClosed()``), by waiter id.
        var closedWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    /// What a banned source's connections are told (code 15, refused) instead of the hello.
    static let bannedReason = CloseReason(.refused, "your address is banned by the server's operator; try again later")

    private let state: NIOLockedValueBox<State>
    /// Logs refusals and penalties at `debug`, and a source's lockout at `info` when it begins.
    private let logger: Logger
    /// Counts connections opened, open and refused, penalties and lockouts.
    private let metrics: ServerMetrics

    init(
        policy: AdmissionPolicy, logger: Logger = Logger(label: "laboratory.admission"),
        metrics: ServerMetrics = .disabled
    ) {
        self.state = NIOLockedValueBox(State(table: AdmissionTable(policy: policy)))
        self.logger = logger
        self.metrics = metrics
    }

    /// Admits a new connection from `source` (its IP address), counting it as unauthenticated,
    /// or returns why it is refused. May end another connection's unfinished handshake to make
    /// room (see ``AdmissionTable``).
    func admit(source: String) -> AdmissionOutcome {
        let address = SourceAddress(source)
        let now = ContinuousClock.now
        let roll = Int.random(in: 0..<100)
        typealias Handler = @Sendable (CloseReason) -> Void
        let (decision, evict) = state.withLockedValue { state -> (AdmissionTable.Decision, Handler?) in
            if state.bans.remaining(for: address, at: now) != nil { return (.refuse(Self.bannedReason), nil) }
            let decision = state.table.admit(address, at: now, roll: roll)
            guard case .admit(_, let evicting?) = decision else { return (decision, nil) }
            let handler = state.evictionHandlers.removeValue(forKey: evicting)
            if handler == nil { state.evictedEarly.insert(evicting) }
            return (decision, handler)
        }
        switch decision {
        case .refuse(let reason):
            metrics.connectionRefused(reason == Self.bannedReason ? .banned : AdmissionTable.refusal(reason))
            logger.record(.connectionRefused(peer: address, reason: reason))
            return .refused(reason)
        case .admit(let id, _):
            evict?(Self.evictionReason)
            metrics.connectionsOpened.increment()
            metrics.connectionsOpen.increment()
            return .admitted(AdmissionTicket(id: id, source: address, admitted: now))
        }
    }

    /// Registers how to end `ticket`'s connection if a newcomer evicts it before it finishes its
    /// handshake (send the reason, close the channel; from any thread). Runs `handler` at once if
    /// it has already been evicted.
    func onEviction(_ ticket: AdmissionTicket, _ handler: @escaping @Sendable (CloseReason) -> Void) {
        let evicted = state.withLockedValue { state in
            if state.evictedEarly.remove(ticket.id) != nil { return true }
            if state.table.isUnfinished(ticket.id) { state.evictionHandlers[ticket.id] = handler }
            return false
        }
        if evicted { handler(Self.evictionReason) }
    }

    /// The connection finished its handshake: it leaves the unfinished table and can no longer
    /// be evicted.
    func authenticated(_ ticket: AdmissionTicket) {
        state.withLockedValue { state in
            state.table.authenticated(ticket.id)
            state.evictionHandlers.removeValue(forKey: ticket.id)
        }
    }

    /// The connection ended.
    func closed(_ ticket: AdmissionTicket) {
        let waiters = state.withLockedValue { state in
            state.table.closed(ticket.id, at: .now)
            state.evictionHandlers.removeValue(forKey: ticket.id)
            state.evictedEarly.remove(ticket.id)
            guard state.table.total == 0 else { return [CheckedContinuation<Void, Never>]() }
            defer { state.closedWaiters = [:] }
            return Array(state.closedWaiters.values)
        }
        metrics.connectionsOpen.decrement()
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no admitted connection is open: at once if none is, otherwise when the last
    /// one ends (or the calling task is cancelled). Connections admitted later do not count: call
    /// it after accepting has stopped.
    func allClosed() async {
        let id = state.withLockedValue { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let isDone = state.withLockedValue { state in
                    guard state.table.total > 0, !Task.isCancelled else { return true }
                    state.closedWaiters[id] = continuation
                    return false
                }
                if isDone { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.closedWaiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Adds the penalty that `reason` earns to the connection's source, if any: more the longer
    /// it held an unfinished handshake. `atHello` says the client closed before sending a complete
    /// message: within ``PenaltyPolicy/keyLookHeld`` that is a look at the key, free once per
    /// source per ``PenaltyPolicy/keyLookInterval``.
    func penalize(_ ticket: AdmissionTicket, for reason: CloseReason, wasAuthenticated: Bool, atHello: Bool = false) {
        let now = ContinuousClock.now
        let held = wasAuthenticated ? .zero : now - ticket.admitted
        // One lock for the policy and the table, so that a reload never splits a decision.
        let outcome = state.withLockedValue {
            state -> (amount: Duration, before: Duration, after: Duration, threshold: Duration, isLook: Bool)? in
            let penalties = state.table.policy.penalties
            guard penalties.isEnabled,
                let amount = penalties.amount(for: reason, wasAuthenticated: wasAuthenticated, unfinishedFor: held)
            else { return nil }
            let isLook = atHello && !wasAuthenticated && reason.code == .peerClosed && held <= penalties.keyLookHeld
            let before = state.table.penaltyUntil[ticket.source.penaltyKey].map { $0 - now } ?? .zero
            if isLook, state.table.takeKeyLook(ticket.source, at: now) {
                return (amount, before, before, penalties.threshold, true)
            }
            state.table.penalize(ticket.source, by: amount, at: now)
            let after = state.table.penaltyUntil[ticket.source.penaltyKey].map { $0 - now } ?? .zero
            return (amount, before, after, penalties.threshold, false)
        }
        guard let (amount, before, after, threshold, isLook) = outcome else { return }
        guard after > before else {
            // Exempt, at the maximum already, or a free look at the key.
            if isLook { logger.debug("closed at the hello: a look at the key", metadata: ["peer": "\(ticket.source)"]) }
            return
        }
        metrics.penalized(for: reason)
        logger.record(.penalty(peer: ticket.source, added: amount, total: after))
        if before < threshold, after >= threshold {
            metrics.lockouts.increment()
            logger.record(.lockedOut(peer: ticket.source, lockedFor: after - threshold, penalty: after))
        }
    }

    /// Refuses new connections from `pattern` (an address or a CIDR block) on every listener for
    /// `duration`; returns false if `pattern` is neither, or the ban list is full.
    func ban(_ pattern: String, for duration: Duration) -> Bool {
        let now = ContinuousClock.now
        let added = state.withLockedValue { $0.bans.add(pattern, until: now.advanced(by: duration), now: now) }
        if added { logger.notice("banned", metadata: ["pattern": "\(pattern)", "for": "\(duration.logged)"]) }
        return added
    }

    /// The bans in force, with how long each has left.
    var bans: [(pattern: String, remaining: Duration)] {
        let now = ContinuousClock.now
        return state.withLockedValue { $0.bans.active(at: now) }.map { ($0.pattern, $0.until - now) }
    }

    /// How long until `source` may connect again, if it is banned or locked out now.
    func refusalRemaining(for source: String) -> Duration? {
        let address = SourceAddress(source)
        let now = ContinuousClock.now
        let banned = state.withLockedValue { $0.bans.remaining(for: address, at: now) }
        let locked = lockout(of: address, at: now)
        guard banned != nil || locked != nil else { return nil }
        return max(banned ?? .zero, locked ?? .zero)
    }

    /// How much longer `source` is locked out, if it is.
    private func lockout(of source: SourceAddress, at now: ContinuousClock.Instant) -> Duration? {
        let (until, threshold) = state.withLockedValue {
            ($0.table.penaltyUntil[source.penaltyKey], $0.table.policy.penalties.threshold)
        }
        guard let until else { return nil }
        let remaining = until - now - threshold
        return remaining > .zero ? remaining : nil
    }

    /// The limits and penalties in force.
    var policy: AdmissionPolicy { state.withLockedValue { $0.table.policy } }

    /// Replaces the limits and penalties for the decisions from now on. Connections already
    /// admitted keep their places: a lower limit refuses newcomers until the counts fall below it,
    /// and never ends a connection; penalties already earned stay (a newly exempt address is let
    /// in at once, since admission checks the exemption first).
    func update(policy: AdmissionPolicy) {
        state.withLockedValue { $0.table.policy = policy }
    }

    /// Counts for tests and metrics.
    var counts: (total: Int, unauthenticated: Int, trackedSources: Int) {
        state.withLockedValue { ($0.table.total, $0.table.unauthenticated, $0.table.penaltyUntil.count) }
    }
}
