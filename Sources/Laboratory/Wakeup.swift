import NIOConcurrencyHelpers

/// Wakes one waiting task when rung: how a handshake deadline, an eviction or a shutdown reaches
/// the connection's handshake watcher, which then lets the state machine decide and, if the
/// connection ends, wins the race against the reader waiting for a slow client (see
/// ``Connection``). It keeps no time itself: deadlines are ``ConnectionTimers``.
///
/// A ring while nobody waits makes the next wait return at once; the waiter re-checks its
/// condition, so an early or spare wake is harmless.
final class Wakeup: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var rung = false
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Returns when ``ring()`` is called (or was called since the last wait), or when the task is
    /// cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            ring()
        }
    }

    /// Wakes the waiting task now, or the next one to wait.
    func ring() {
        let waiter = state.withLockedValue { state in
            guard let waiter = state.waiter else {
                state.rung = true
                return CheckedContinuation<Void, Never>?.none
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}
