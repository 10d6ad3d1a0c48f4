import LaboratoryProtocol
import NIOConcurrencyHelpers

/// Counts connections and penalties and decides, at accept, whether a new connection may proceed.
final class Admission: Sendable {
    private struct State {
        var total = 0
        var unauthenticated = 0
        var unauthenticatedBySource: [String: Int] = [:]
        var penaltyUntil: [String: ContinuousClock.Instant] = [:]
    }

    private let policy: AdmissionPolicy
    private let state = NIOLockedValueBox(State())

    init(policy: AdmissionPolicy) { self.policy = policy }

    /// Admits a new connection from `source` (its IP address), counting it as unauthenticated,
    /// or returns why it is refused.
    func admit(source: String) -> CloseReason? {
        state.withLockedValue { state in
            let now = ContinuousClock.now
            if policy.penalties.isEnabled, let until = state.penaltyUntil[source] {
                if until - now >= policy.penalties.threshold {
                    return CloseReason(.refused, "too many failures from your address; try again later")
                }
                if until <= now { state.penaltyUntil.removeValue(forKey: source) }
            }
            guard state.total < policy.maximumConnections else {
                return CloseReason(.refused, "the server has too many connections")
            }
            guard state.unauthenticatedBySource[source, default: 0] < policy.maximumUnauthenticatedPerSource else {
                return CloseReason(.refused, "too many unfinished handshakes from your address")
            }
            let percent = policy.maxStartups.refusalPercent(unauthenticated: state.unauthenticated)
            if percent > 0, Int.random(in: 0..<100) < percent {
                return CloseReason(.refused, "the server is busy with handshakes; try again")
            }
            state.total += 1
            state.unauthenticated += 1
            state.unauthenticatedBySource[source, default: 0] += 1
            return nil
        }
    }

    /// The connection from `source` finished its handshake.
    func authenticated(source: String) {
        state.withLockedValue { state in
            state.unauthenticated -= 1
            Self.decrement(&state.unauthenticatedBySource, source)
        }
    }

    /// The connection from `source` ended.
    func closed(source: String, wasAuthenticated: Bool) {
        state.withLockedValue { state in
            state.total -= 1
            if !wasAuthenticated {
                state.unauthenticated -= 1
                Self.decrement(&state.unauthenticatedBySource, source)
            }
        }
    }

    /// Adds the penalty that `reason` earns to `source`, if any.
    func penalize(source: String, for reason: CloseReason, wasAuthenticated: Bool) {
        let penalties = policy.penalties
        guard penalties.isEnabled, !penalties.isExempt(source) else { return }
        let amount: Duration
        switch reason.code {
        case .wrongPassword: amount = penalties.wrongPassword
        case .handshakeTimeout: amount = penalties.handshakeTimeout
        case .protocolViolation, .decryptionFailed, .frameTooLarge, .keyExhausted, .invalidName:
            amount = penalties.protocolViolation
        case .peerClosed where !wasAuthenticated: amount = penalties.unauthenticatedDisconnect
        default: return
        }
        state.withLockedValue { state in
            let now = ContinuousClock.now
            if state.penaltyUntil[source] == nil, state.penaltyUntil.count >= penalties.maximumTrackedSources {
                state.penaltyUntil = state.penaltyUntil.filter { $0.value > now }
                guard state.penaltyUntil.count < penalties.maximumTrackedSources else { return }
            }
            let base = max(state.penaltyUntil[source] ?? now, now)
            state.penaltyUntil[source] = min(base.advanced(by: amount), now.advanced(by: penalties.maximum))
        }
    }

    /// Counts for tests and metrics.
    var counts: (total: Int, unauthenticated: Int, trackedSources: Int) {
        state.withLockedValue { ($0.total, $0.unauthenticated, $0.penaltyUntil.count) }
    }

    private static func decrement(_ counts: inout [String: Int], _ source: String) {
        let remaining = counts[source, default: 0] - 1
        counts[source] = remaining > 0 ? remaining : nil
    }
}
