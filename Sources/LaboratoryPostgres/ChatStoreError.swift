/// A failure of the chat store: the database could not be reached or refused a statement, or a
/// setting is wrong. Its description is one line that says which.
public struct ChatStoreError: Error, CustomStringConvertible, Sendable {
    enum Reason: Sendable {
        case noRowReturned
        /// `operation` failed because of `detail` (the database is down, a statement failed).
        case unavailable(operation: String, detail: String)
        case invalidURL(String)
        /// Every node number (1...4095) is held by a registered node.
        case noFreeNodeNumber
        /// Another node took this node's number after this node was dropped as dead.
        case nodeReplaced(UInt16)
        case closed
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    /// Whether the store could not be reached (rather than a setting being wrong).
    package var isUnavailable: Bool {
        if case .unavailable = reason { return true }
        return false
    }

    /// One line: what failed and why.
    public var description: String {
        switch reason {
        case .noRowReturned: "the database returned no row for a statement that always returns one"
        case .unavailable(let operation, let detail): "chat store unavailable: \(operation) failed: \(detail)"
        case .invalidURL(let why): "the chat store URL is not usable: \(why)"
        case .noFreeNodeNumber: "every chat node number (1 to 4095) is in use by a registered node"
        case .nodeReplaced(let node):
            "this node (number \(node)) was dropped as dead and its number was taken by another node"
        case .closed: "the chat store has been closed"
        }
    }
}
