import NIOCore
import Synchronization

/// The event loop task behind one continuous-clock timer, which is re-armed when the event loop's
/// time runs ahead of the clock's. Cancelling it cancels whichever task is current and any later
/// one.
final class PendingTimer: Sendable {
    private struct State {
        var task: Scheduled<Void>?
        var isCancelled = false
    }

    private let state = Mutex(State())

    /// Keeps `task` as the current one, or cancels it at once if the timer has been cancelled.
    func replace(_ task: Scheduled<Void>) {
        let keep = state.withLock { state -> Bool in
            guard !state.isCancelled else { return false }
            state.task = task
            return true
        }
        if !keep { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.isCancelled = true
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
    }
}
