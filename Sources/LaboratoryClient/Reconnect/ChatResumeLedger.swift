import LaboratoryProtocol

/// What a ``ReconnectingChatSession`` remembers of its rooms, without sockets: the rooms joined,
/// the last sequence number delivered in each, and, while a new connection resumes them, which
/// events are new, which are duplicates and what to tell the user (`Docs/PROTOCOL.md`, §17,
/// *Reconnecting and resuming*).
///
/// Events and `join` replies reach the session by different paths (the event stream, the
/// request's answer), so a reply may be handled before the events the server pushed ahead of it.
/// The ledger decides by sequence numbers alone, whatever the order in which the two arrive: an
/// event is new if its number is above the last delivered; a reply's `sequence` is the number of
/// the last event pushed before it, so a room's resumption is complete once that has been
/// delivered.
package struct ChatResumeLedger: Sendable {
    /// Something the user should be told about a resumed room.
    package enum Notice: Hashable, Sendable {
        /// Events `from...to` were no longer held by the server: lost to this client.
        case missed(room: String, from: UInt64, to: UInt64)
        /// The room's numbering started again (a new server run): events said while away may be
        /// missing.
        case numberingRestarted(room: String)
    }

    private struct Room: Sendable {
        /// The sequence number of the last event delivered; `nil`: none yet (accept any).
        var last: UInt64?
        /// The `sequence` of the reply that added us, for a room whose events we never saw.
        var joinSequence: UInt64?
        /// While a resuming `join` is unanswered: the `after` it was sent with.
        var resumingAfter: UInt64?
        /// Events at or below `resumingAfter` that arrived before the reply: duplicates, unless
        /// the reply says the numbering restarted.
        var held: [ChatEvent] = []
        /// After the reply: the resumption is complete once an event this high is delivered.
        var completingUpTo: UInt64?
        /// `message` events delivered since the resumption began: the ones the user missed.
        var missedMessages = 0

        var isResuming: Bool { resumingAfter != nil || completingUpTo != nil }
    }

    private var rooms: [String: Room] = [:]
    /// The rooms joined, in the order they were joined: the order they are resumed in.
    package private(set) var memberships: [String] = []

    package init() {}

    /// Whether `room` has been joined (and not left).
    package func isMember(of room: String) -> Bool { memberships.contains(room) }

    // MARK: The user's own joins and leaves

    /// The user asks to join `room` (not yet a member): its events are tracked from now on.
    package mutating func joining(_ room: String) {
        guard !isMember(of: room) else { return }
        rooms[room] = Room()
    }

    /// The join of `room` succeeded with `reply`.
    package mutating func joined(_ room: String, reply: ChatReply) {
        if !isMember(of: room) { memberships.append(room) }
        rooms[room, default: Room()].joinSequence = reply.sequence
    }

    /// The join of `room` failed: forget it unless the user was already in it.
    package mutating func joinFailed(_ room: String) {
        if !isMember(of: room) { rooms[room] = nil }
    }

    /// The user left `room`: it is not resumed, and a later join starts afresh (its numbering may
    /// have restarted meanwhile).
    package mutating func left(_ room: String) {
        memberships.removeAll { $0 == room }
        rooms[room] = nil
    }

    // MARK: Events

    /// Decides what to do with a pushed chat event: returns it if it is to be delivered, `nil` if
    /// it is a duplicate or held until its room's resuming reply arrives. Events of rooms not
    /// tracked, and direct messages, are always delivered.
    package mutating func receive(_ event: ChatEvent) -> ChatEvent? {
        guard let name = event.room, let sequence = event.sequence, var room = rooms[name] else { return event }
        defer { rooms[name] = room }
        if let after = room.resumingAfter, sequence <= after {
            room.held.append(event)
            return nil
        }
        if let last = room.last, sequence <= last { return nil }
        room.last = sequence
        if room.isResuming, event.kind == .message { room.missedMessages += 1 }
        if let upTo = room.completingUpTo, sequence >= upTo { room.completingUpTo = nil }
        return event
    }

    // MARK: Resuming on a new connection

    /// A new connection was accepted: returns the joins to send, each room with `after` = the
    /// last sequence number delivered in it, and starts tracking their resumption.
    package mutating func beginResumption() -> [(room: String, after: UInt64)] {
        memberships.map { name in
            var room = rooms[name] ?? Room()
            let after = room.last ?? room.joinSequence ?? 0
            room.last = after
            room.resumingAfter = after
            room.held = []
            room.completingUpTo = nil
            room.missedMessages = 0
            rooms[name] = room
            return (name, after)
        }
    }

    /// The resuming join of `room`, sent with `after`, was answered `reply`: returns the held
    /// events to deliver now (only when the numbering restarted) and what to tell the user.
    package mutating func resumed(_ name: String, after: UInt64, reply: ChatReply) -> (
        deliver: [ChatEvent], notices: [Notice]
    ) {
        guard var room = rooms[name], room.resumingAfter == after else { return ([], []) }
        defer { rooms[name] = room }
        room.resumingAfter = nil
        var notices: [Notice] = []
        if let from = reply.missedFrom, let to = reply.missedTo {
            notices.append(.missed(room: name, from: from, to: to))
        }
        var deliver: [ChatEvent] = []
        if let sequence = reply.sequence, sequence <= after {
            // A new run's numbers: what was held is new, and the last number is its own again.
            notices.append(.numberingRestarted(room: name))
            for event in room.held.sorted(by: { ($0.sequence ?? 0) < ($1.sequence ?? 0) }) {
                guard let number = event.sequence, number > (deliver.last?.sequence ?? 0) else { continue }
                deliver.append(event)
                if event.kind == .message { room.missedMessages += 1 }
            }
            room.last = deliver.last?.sequence
        }
        room.held = []
        if let sequence = reply.sequence, sequence > (room.last ?? 0) { room.completingUpTo = sequence }
        return (deliver, notices)
    }

    /// The resuming join of `room` failed (the server refused it): the room is forgotten.
    package mutating func resumeFailed(_ room: String) { left(room) }

    /// Whether every room's resumption is complete: its reply handled and the events pushed
    /// before the reply delivered.
    package var isResumptionComplete: Bool { !rooms.values.contains(where: \.isResuming) }

    /// The `message` events delivered since the resumption began, over all rooms.
    package var missedMessages: Int { rooms.values.reduce(0) { $0 + $1.missedMessages } }

    /// The last sequence number delivered in `room`, if any.
    package func lastSequence(in room: String) -> UInt64? { rooms[room]?.last }
}
