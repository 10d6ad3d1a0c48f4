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
    }

    private let state: NIOLockedValueBox<State>
    /// Logs refusals and penalties at `debug`, and a source's lockout at `info` when it begins.
    private let logger: Logger

    init(policy: AdmissionPolicy, logger: Logger = Logger(label: "laboratory.admission")) {
        self.state = NIOLockedValueBox(State(table: AdmissionTable(policy: policy)))
        self.logger = logger
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
            let decision = state.table.admit(address, at: now, roll: roll)
            guard case .admit(_, let evicting?) = decision else { return (decision, nil) }
            let handler = state.evictionHandlers.removeValue(forKey: evicting)
            if handler == nil { state.evictedEarly.insert(evicting) }
            return (decision, handler)
        }
        switch decision {
        case .refuse(let reason):
            if logger.logLevel <= .debug {
                var metadata: Logger.Metadata = ["peer": "\(address)", "reason": .client(describing: reason)]
                if let remaining = lockout(of: address, at: now) { metadata["locked_for"] = "\(remaining.logged)" }
                logger.debug("connection refused", metadata: metadata)
            }
            return .refused(reason)
        case .admit(let id, _):
            evict?(Self.evictionReason)
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
        state.withLockedValue { state in
            state.table.closed(ticket.id, at: .now)
            state.evictionHandlers.removeValue(forKey: ticket.id)
            state.evictedEarly.remove(ticket.id)
        }
    }

    /// Adds the penalty that `reason` earns to the connection's source, if any: more the longer
    /// it held an unfinished handshake.
    func penalize(_ ticket: AdmissionTicket, for reason: CloseReason, wasAuthenticated: Bool) {
        let now = ContinuousClock.now
        let held = wasAuthenticated ? .zero : now - ticket.admitted
        // One lock for the policy and the table, so that a reload never splits a decision.
        let outcome = state.withLockedValue {
            state -> (amount: Duration, before: Duration, after: Duration, threshold: Duration)? in
            let penalties = state.table.policy.penalties
            guard penalties.isEnabled,
                let amount = penalties.amount(for: reason, wasAuthenticated: wasAuthenticated, unfinishedFor: held)
            else { return nil }
            let before = state.table.penaltyUntil[ticket.source.penaltyKey].map { $0 - now } ?? .zero
            state.table.penalize(ticket.source, by: amount, at: now)
            let after = state.table.penaltyUntil[ticket.source.penaltyKey].map { $0 - now } ?? .zero
            return (amount, before, after, penalties.threshold)
        }
        guard let (amount, before, after, threshold) = outcome else { return }
        guard after > before else { return }  // exempt, or its penalty is already at the maximum
        logger.debug(
            "penalty", metadata: ["peer": "\(ticket.source)", "added": "\(amount.logged)", "total": "\(after.logged)"])
        if before < threshold, after >= threshold {
            logger.info(
                "source locked out: its connections are refused until its penalty falls below the threshold",
                metadata: [
                    "peer": "\(ticket.source)", "locked_for": "\((after - threshold).logged)",
                    "penalty": "\(after.logged)",
                ])
        }
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
