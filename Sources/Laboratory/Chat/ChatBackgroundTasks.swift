import NIOConcurrencyHelpers

/// The tasks a chat service's rooms start and do not wait for (a departure recorded once the
/// store is back), kept so that stopping the store stops them too instead of leaving them behind.
package final class ChatBackgroundTasks: Sendable {
    private struct State {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var next: UInt64 = 0
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// Starts `body` in a task of its own, unless ``stop()`` has been called (then it is not run:
    /// returns `false`).
    @discardableResult
    package func start(_ body: @escaping @Sendable () async -> Void) -> Bool {
        state.withLockedValue { state in
            guard !state.stopped else { return false }
            let id = state.next
            state.next += 1
            // Created under the lock: the task's own removal waits until it is recorded.
            state.tasks[id] = Task {
                await body()
                self.finished(id)
            }
            return true
        }
    }

    /// How many tasks are running.
    package var count: Int { state.withLockedValue { $0.tasks.count } }

    /// Refuses new tasks, cancels the running ones and returns once they have ended.
    package func stop() async {
        let running = state.withLockedValue { state in
            state.stopped = true
            return Array(state.tasks.values)
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    private func finished(_ id: UInt64) {
        state.withLockedValue { _ = $0.tasks.removeValue(forKey: id) }
    }
}
