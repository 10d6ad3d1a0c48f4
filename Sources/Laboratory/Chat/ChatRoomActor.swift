import LaboratoryProtocol

/// A chat room on this node as the chat service and its directory use it, whichever chat store
/// holds it: ``ChatRoom`` (the in-memory backplane, the fast path a server has by default) or
/// ``SharedChatRoom`` (any ``ChatBackplane``, which several servers may share).
protocol ChatRoomActor: Actor {
    /// Adds a member, replays what it missed after `after`, then announces it. Returns the reply.
    func join(_ session: SessionIdentity, sink: EventSink, after: UInt64?) async throws -> ChatReply

    /// Removes a member and announces it. Returns whether it was a member.
    @discardableResult
    func leave(_ session: SessionIdentity) async throws -> Bool

    /// Says `text` from a member; returns the message's sequence number once the member has been
    /// pushed the message.
    func say(_ text: String, from session: SessionIdentity) async throws -> UInt64

    /// Records a member's new name and announces it.
    func rename(_ session: SessionIdentity, from oldName: String) async

    /// Up to `limit` members with ids above `after`, in id order, and the cursor for the next page.
    func memberPage(after: UInt64?, limit: Int) async throws -> (members: [ChatMember], next: String?)
}
