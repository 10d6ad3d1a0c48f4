/// A failure of the chat store that is not PostgreSQL's own error (those are thrown as
/// postgres-nio reports them).
package struct ChatStoreError: Error, CustomStringConvertible, Sendable {
    enum Reason: Sendable {
        case noRowReturned
        case notificationsEnded
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    package var description: String {
        switch reason {
        case .noRowReturned: "the database returned no row for a statement that always returns one"
        case .notificationsEnded: "the listening connection stopped delivering notifications"
        }
    }
}
