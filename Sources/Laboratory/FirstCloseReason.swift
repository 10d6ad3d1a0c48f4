import LaboratoryProtocol

/// Runs a connection's tasks (its reader and its watchers) side by side; the first to return a
/// reason wins and the others are cancelled. This is how a deadline or a shutdown interrupts a
/// read that is waiting for a slow client. A task returning `nil` has nothing more to watch;
/// `nil` when every task returned `nil`.
func firstCloseReason(_ tasks: (@Sendable () async -> CloseReason?)...) async -> CloseReason? {
    await withTaskGroup(of: CloseReason?.self) { group in
        for task in tasks { group.addTask { await task() } }
        for await result in group {
            if let result {
                group.cancelAll()
                return result
            }
        }
        return nil
    }
}
