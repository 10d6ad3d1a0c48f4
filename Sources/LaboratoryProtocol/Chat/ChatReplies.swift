import Foundation

/// A room member as chat reports it.
public struct ChatMember: Codable, Hashable, Sendable {
    /// The member's connection id.
    public var id: UInt64
    /// The member's display name.
    public var name: String

    /// Creates a member.
    public init(id: UInt64, name: String) {
        self.id = id
        self.name = name
    }
}

/// A room and how many members it has.
public struct ChatRoomSummary: Codable, Hashable, Sendable {
    /// The room's name.
    public var name: String
    /// How many members it has.
    public var members: Int

    /// Creates a summary.
    public init(name: String, members: Int) {
        self.name = name
        self.members = members
    }
}

/// The response body of every chat request (JSON); only the fields the request concerns are set.
public struct ChatReply: Codable, Hashable, Sendable {
    /// `join`, `who`: one page of the room's members, in id order.
    public var members: [ChatMember]?
    /// `rooms`: one page of rooms, in name order.
    public var rooms: [ChatRoomSummary]?
    /// `rooms`, `who`, `join`: present when more rooms or members follow this page; send it as
    /// `after` (in `rooms` or `who`) to get the next page. An opaque cursor.
    public var next: String?
    /// `say`: the message's sequence number. `join`: the room's latest sequence number.
    public var sequence: UInt64?
    /// `join` with `after`: how many events were replayed (pushed before this reply).
    public var replayed: Int?
    /// `join` with `after`: the first and last sequence numbers that were missed and are no
    /// longer held, if any. `nil` means the replay was complete.
    public var missedFrom: UInt64?
    /// See ``missedFrom``.
    public var missedTo: UInt64?

    /// Creates a reply; unset fields are left out of the JSON.
    public init(
        members: [ChatMember]? = nil, rooms: [ChatRoomSummary]? = nil, sequence: UInt64? = nil,
        replayed: Int? = nil, missedFrom: UInt64? = nil, missedTo: UInt64? = nil, next: String? = nil
    ) {
        self.members = members
        self.rooms = rooms
        self.next = next
        self.sequence = sequence
        self.replayed = replayed
        self.missedFrom = missedFrom
        self.missedTo = missedTo
    }
}

/// An event the chat service pushes (JSON body of a service event from `"chat"`).
public struct ChatEvent: Codable, Hashable, Sendable {
    /// The kinds of chat event.
    public enum Kind: String, Codable, Hashable, Sendable {
        /// Someone said something in a room.
        case message
        /// Someone joined a room.
        case joined
        /// Someone left a room, or disconnected.
        case left
        /// A room member changed their name.
        case renamed
        /// A direct message to you.
        case direct
    }

    /// What happened.
    public var kind: Kind
    /// The room (absent for direct messages).
    public var room: String?
    /// The room's sequence number for this event; every member sees the same numbers in the same
    /// order. Absent for direct messages.
    public var sequence: UInt64?
    /// The connection id of whoever caused the event.
    public var from: UInt64
    /// Their display name (the new one for `renamed`).
    public var name: String
    /// `renamed`: the previous name.
    public var oldName: String?
    /// `message`, `direct`: the text.
    public var text: String?
    /// The server's clock when the event happened, in milliseconds since 1970.
    public var time: Int64

    /// Creates an event.
    public init(
        kind: Kind, room: String?, sequence: UInt64?, from: UInt64, name: String, oldName: String? = nil,
        text: String? = nil, time: Int64
    ) {
        self.kind = kind
        self.room = room
        self.sequence = sequence
        self.from = from
        self.name = name
        self.oldName = oldName
        self.text = text
        self.time = time
    }
}

extension ChatReply {
    /// One encoder for every reply that is not written directly: a `JSONEncoder` whose options
    /// are never changed may be shared, and creating one per reply costs allocations.
    private static let encoder = JSONEncoder()

    /// The reply as the chat service sends it: the JSON `JSONEncoder` writes, byte for byte. The
    /// replies of `say` (a sequence number alone), `leave` and `direct` (empty) are written
    /// directly, in one allocation; the others are encoded.
    package func jsonBody() throws -> [UInt8] {
        guard members == nil, rooms == nil, next == nil, replayed == nil, missedFrom == nil, missedTo == nil else {
            return Array(try Self.encoder.encode(self))
        }
        guard let sequence else { return [UInt8(ascii: "{"), UInt8(ascii: "}")] }
        var digits = 1
        var rest = sequence
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        let prefix: StaticString = #"{"sequence":"#
        let length = prefix.utf8CodeUnitCount
        var body = [UInt8](repeating: UInt8(ascii: "}"), count: length + digits + 1)
        prefix.withUTF8Buffer { prefix in
            for (offset, byte) in prefix.enumerated() { body[offset] = byte }
        }
        var value = sequence
        for position in (length..<length + digits).reversed() {
            body[position] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
        return body
    }
}
