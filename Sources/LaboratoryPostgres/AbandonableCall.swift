import Synchronization

/// Runs work that may never end with an upper bound its caller can rely on: the work runs in a
/// task of its own, and the caller gets its result, or `nil` once `timeout` has passed, or a
/// `CancellationError` when the caller is cancelled, whichever comes first; work that outlives
/// its caller is cancelled and left to end when it can.
///
/// A task group's timeout is not enough for a database call: the group waits for every child,
/// and postgres-nio drops a query written to a connection whose pipeline has already gone (its
/// promise is never completed, and the wait ignores cancellation), so a call that raced the
/// server's restart would hold the group, and everything waiting on it, for ever. It did: a
/// node's heartbeats stopped for good after a restart, so the other nodes would have taken it
/// for dead, and its graceful shutdown never finished.
enum AbandonableCall {
    /// The outcome of `work`, or `nil` if it has not ended within `timeout`.
    ///
    /// - Throws: what `work` throws, or `CancellationError` if the calling task is cancelled first.
    static func run<T: Sendable>(
        timeout: Duration, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let outcome = Outcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let worker = Task {
                    do {
                        outcome.finish(.success(try await work()))
                    } catch {
                        outcome.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    outcome.finish(.success(nil))
                }
                outcome.wait(continuation) {
                    worker.cancel()
                    timer.cancel()
                }
            }
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
        }
    }

    /// The first of the work's result, the timer and the caller's cancellation, handed to the
    /// caller once.
    private final class Outcome<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T?, any Error>?
            var result: Result<T?, any Error>?
            var cleanUp: (@Sendable () -> Void)?
            var isDelivered = false
        }

        private let state = Mutex(State())

        /// The caller is waiting: resumes it at once if the outcome is already known.
        func wait(_ continuation: CheckedContinuation<T?, any Error>, cleanUp: @escaping @Sendable () -> Void) {
            let ready = state.withLock { state -> Result<T?, any Error>? in
                guard let result = state.result else {
                    state.continuation = continuation
                    state.cleanUp = cleanUp
                    return nil
                }
                state.isDelivered = true
                return result
            }
            if let ready {
                cleanUp()
                continuation.resume(with: ready)
            }
        }

        /// The first call decides the outcome; later ones are ignored.
        func finish(_ result: Result<T?, any Error>) {
            let waiting = state.withLock { state -> (CheckedContinuation<T?, any Error>, (@Sendable () -> Void)?)? in
                guard state.result == nil, !state.isDelivered else { return nil }
                state.result = result
                guard let continuation = state.continuation else { return nil }
                state.continuation = nil
                state.isDelivered = true
                defer { state.cleanUp = nil }
                return (continuation, state.cleanUp)
            }
            guard let (continuation, cleanUp) = waiting else { return }
            cleanUp?()
            continuation.resume(with: result)
        }
    }
}
