import LaboratoryProtocol

/// The reconnect decisions of a ``ReconnectingChatSession``, without sockets or clocks: told
/// that a connection was lost or an attempt failed, and why, it answers whether to try again and
/// after how long (`Docs/PROTOCOL.md`, §17, *Reconnecting and resuming*).
package struct ReconnectMachine: Sendable {
    /// Whether a failure allows another attempt.
    package enum Verdict: Hashable, Sendable {
        /// Try again, not before `notBefore` if given (a lockout's `retry_ms`).
        case retry(notBefore: Duration?)
        /// Never reconnect by itself: the failure would repeat, or the user must decide.
        case final
    }

    /// What to do next.
    package enum Action: Hashable, Sendable {
        /// Wait this long, then make attempt number `attempt` (1 for the first after the loss).
        case wait(Duration, attempt: Int)
        /// Stop: the failure was final, or the policy's attempts are used up.
        case giveUp
    }

    package let policy: ReconnectPolicy
    /// Attempts made since the last successful resumption.
    package private(set) var attempts = 0

    package init(policy: ReconnectPolicy) { self.policy = policy }

    /// The connection was lost, or an attempt to reconnect failed, for a reason judged `verdict`;
    /// `random` is a fresh draw in `[0, 1)` for the jitter.
    package mutating func failed(_ verdict: Verdict, random: Double) -> Action {
        guard case .retry(let notBefore) = verdict else { return .giveUp }
        if let maximum = policy.maximumAttempts, attempts >= maximum { return .giveUp }
        attempts += 1
        let delay = policy.delay(beforeAttempt: attempts, random: random)
        return .wait(max(delay, notBefore ?? .zero), attempt: attempts)
    }

    /// A connection was accepted and its rooms resumed: the next loss starts the backoff again.
    package mutating func resumed() { attempts = 0 }

    /// The verdict on an accepted session that ended with `reason` (`nil`: TCP closed or failed
    /// without a `closing`).
    package static func verdict(afterClose reason: CloseReason?) -> Verdict {
        guard let reason else { return .retry(notBefore: nil) }
        switch reason.code {
        case .normal, .kicked, .wrongPassword, .invalidName, .plaintextNotAllowed, .unsupportedVersion,
            .protocolViolation, .frameTooLarge, .decryptionFailed, .keyExhausted:
            return .final
        default:
            return .retry(notBefore: reason.retryAfter)
        }
    }

    /// The verdict on a failed attempt to connect (or a first connect).
    package static func verdict(afterConnectFailure error: ClientError) -> Verdict {
        switch error.code {
        case .wrongPassword, .serverKeyMismatch, .nameRejected, .protocolViolation, .decryptionFailed:
            return .final
        default:
            // Refused (code 15, maybe with retry_ms), timed out, reset, unreachable: the server's
            // close code decides when it sent one.
            if let reason = error.closeReason { return verdict(afterClose: reason) }
            return .retry(notBefore: error.retryAfter)
        }
    }
}
