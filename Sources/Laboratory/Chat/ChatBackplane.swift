import LaboratoryProtocol

/// Where chat keeps what rooms share beyond one process: each room's sequence numbers and history,
/// the stream of its new events, and who is in it. The chat service's rooms number, store and
/// announce through one; ``InMemoryChatBackplane`` is the default (one process, nothing durable).
///
/// Written for implementations that are asynchronous and shared by several nodes (PostgreSQL: a
/// row per event, a room's number assigned in the inserting transaction, notifications carrying
/// only ids, history read from the table, presence by node heartbeats). So:
/// - every call may suspend and may throw (a lost database connection is an error for that call,
///   not a crash);
/// - numbers are per room, start at 1, increase by one per event and never repeat, even for a room
///   that was emptied, forgotten and recreated (an implementation that cannot keep a room's last
///   number forever may skip ahead, never go back: see ``InMemoryChatBackplane``);
/// - a subscription delivers every event appended after it began, once, in sequence order, from
///   any node, until it is cancelled or ends. It holds at least 100 undelivered events; it may
///   end early when its subscriber falls further behind or the implementation loses its
///   connection, and the subscriber then reads ``history(of:after:)`` from the last number it saw
///   (history is the truth; notifications are only a wake-up) and subscribes again;
/// - connection ids in presence are the ids the events carry; a multi-node implementation
///   qualifies them by node so that two nodes' connections never collide. Presence is the
///   current membership table; its changes also travel as `joined` and `left` events through
///   ``append(_:to:)`` and subscriptions (for a node that stopped heartbeating, whichever node
///   notices appends its members' `left` events).
///
/// `package` until the PostgreSQL implementation (its own product in this package) has shaped it;
/// embedders choose between the package's implementations, they do not write their own yet.
package protocol ChatBackplane: Sendable {
    /// Numbers `event` (its `sequence` is ignored) as the next event of `room`, keeps it in the
    /// room's history and delivers it to the room's subscribers. Returns it as stored: its number
    /// and the JSON members receive.
    func append(_ event: ChatEvent, to room: String) async throws -> ChatBackplaneEntry

    /// The events of `room` numbered above `sequence` that are still kept, oldest first, with the
    /// room's latest number and the oldest one kept.
    func history(of room: String, after sequence: UInt64) async throws -> ChatHistory

    /// Starts delivering `room`'s events appended from now on, in order, until the subscription
    /// is cancelled or ends (see the protocol's documentation for when it may end early).
    func subscribe(to room: String) async throws -> ChatSubscription

    /// Records that connection `member` is in `room`, under `name` (again: renames it).
    func join(_ member: UInt64, name: String, room: String) async throws

    /// Records that connection `member` is no longer in `room`. Returns whether it was.
    @discardableResult
    func leave(_ member: UInt64, room: String) async throws -> Bool

    /// Who is in `room` now, in ascending connection id order.
    func members(of room: String) async throws -> [ChatMember]

    /// Up to `limit` rooms whose names sort after `after` (from the first without it), in
    /// ascending name order (by Unicode code point; room names are ASCII), each with its member
    /// count on every node, and the cursor for the next page (the last name listed) when more
    /// follow. Which rooms are listed is the implementation's to say, but every room with members
    /// is; a room may appear with 0 members.
    func rooms(after: String?, limit: Int) async throws -> (rooms: [ChatRoomSummary], next: String?)
}

/// One numbered event of a room, as a backplane stores and delivers it.
package struct ChatBackplaneEntry: Hashable, Sendable {
    /// The room's number for it.
    package var sequence: UInt64
    /// The `ChatEvent` as JSON, with ``sequence`` in it: exactly the body members receive.
    package var body: [UInt8]

    package init(sequence: UInt64, body: [UInt8]) {
        self.sequence = sequence
        self.body = body
    }
}

/// What a backplane still has of a room's history after a given number.
package struct ChatHistory: Hashable, Sendable {
    /// The events after the number asked for, oldest first.
    package var entries: [ChatBackplaneEntry]
    /// The number of the room's oldest kept event; `latest + 1` when it keeps none.
    package var oldest: UInt64
    /// The number of the room's latest event; 0 when it has had none.
    package var latest: UInt64

    package init(entries: [ChatBackplaneEntry], oldest: UInt64, latest: UInt64) {
        self.entries = entries
        self.oldest = oldest
        self.latest = latest
    }
}

/// A room's events as they are appended, until ``cancel()``.
package struct ChatSubscription: Sendable {
    /// The events, in sequence order.
    package let events: AsyncStream<ChatBackplaneEntry>
    private let onCancel: @Sendable () -> Void

    package init(events: AsyncStream<ChatBackplaneEntry>, onCancel: @escaping @Sendable () -> Void) {
        self.events = events
        self.onCancel = onCancel
    }

    /// Stops the deliveries and ends ``events``.
    package func cancel() { onCancel() }
}
