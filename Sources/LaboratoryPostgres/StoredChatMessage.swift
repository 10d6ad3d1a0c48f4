import Foundation

/// A chat message as the store keeps it: one row of `laboratory_chat_messages`.
package struct StoredChatMessage: Sendable, Hashable {
    /// The room's name.
    package let room: String
    /// Its place in the room: 1, 2, 3… with no gap and no repeat, across nodes and restarts.
    package let sequence: Int64
    /// The sender's display name.
    package let sender: String
    /// The sender's connection, qualified by its node (for example `node-a/17`) so that ids from
    /// different nodes never collide.
    package let connectionID: String
    package let text: String
    /// When the database committed it (the database's clock, the same for every node).
    package let sentAt: Date
}
