import Foundation

/// A request to the built-in chat service. The request body is this value as a JSON object with
/// an `"op"` field, for example `{"op":"say","room":"lobby","text":"hi"}`.
public enum ChatRequest: Hashable, Sendable {
    /// Join a room (created on first join). With `after`, replay the room's events after that
    /// sequence number as pushed events before any new ones.
    case join(room: String, after: UInt64?)
    /// Leave a room.
    case leave(room: String)
    /// List one page of rooms with their member counts, in name order: those after the cursor
    /// `after` (a ``ChatReply/next`` from the previous page; `nil` for the first page), at most
    /// `limit` of them (`nil` for the server's page size, 100 by default).
    case rooms(after: String? = nil, limit: Int? = nil)
    /// List one page of a room's members, in id order; `after` and `limit` as for ``rooms(after:limit:)``.
    case who(room: String, after: String? = nil, limit: Int? = nil)
    /// Say something to a room you are in.
    case say(room: String, text: String)
    /// Send a direct message to one connection id.
    case direct(to: UInt64, text: String)
}

extension ChatRequest: Codable {
    private enum CodingKeys: String, CodingKey {
        case op, room, after, text, to, limit
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let op = try container.decode(String.self, forKey: .op)
        // A strict-JSON integer out of a u64's range (or negative) would otherwise be reported by
        // the decoder as "not valid JSON", which it is.
        // `null` is not an integer either (decodeIfPresent would take it for an absent field).
        func integer(_ key: CodingKeys) throws -> UInt64? {
            do {
                guard container.contains(key) else { return nil }
                return try container.decode(UInt64.self, forKey: key)
            } catch {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container,
                    debugDescription: "\"\(key.stringValue)\" must be an integer from 0 to \(UInt64.max)")
            }
        }
        switch op {
        case "join":
            self = .join(
                room: try container.decode(String.self, forKey: .room),
                after: try integer(.after))
        case "leave": self = .leave(room: try container.decode(String.self, forKey: .room))
        case "rooms":
            self = .rooms(
                after: try container.decodeIfPresent(String.self, forKey: .after),
                limit: try container.decodeIfPresent(Int.self, forKey: .limit))
        case "who":
            self = .who(
                room: try container.decode(String.self, forKey: .room),
                after: try container.decodeIfPresent(String.self, forKey: .after),
                limit: try container.decodeIfPresent(Int.self, forKey: .limit))
        case "say":
            self = .say(
                room: try container.decode(String.self, forKey: .room),
                text: try container.decode(String.self, forKey: .text))
        case "direct":
            guard let to = try integer(.to) else {
                throw DecodingError.keyNotFound(
                    CodingKeys.to, DecodingError.Context(codingPath: [], debugDescription: "\"to\" is missing"))
            }
            self = .direct(
                to: to,
                text: try container.decode(String.self, forKey: .text))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .op, in: container,
                debugDescription: "unknown op \"\(op)\"; use join, leave, rooms, who, say or direct")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .join(let room, let after):
            try container.encode("join", forKey: .op)
            try container.encode(room, forKey: .room)
            try container.encodeIfPresent(after, forKey: .after)
        case .leave(let room):
            try container.encode("leave", forKey: .op)
            try container.encode(room, forKey: .room)
        case .rooms(let after, let limit):
            try container.encode("rooms", forKey: .op)
            try container.encodeIfPresent(after, forKey: .after)
            try container.encodeIfPresent(limit, forKey: .limit)
        case .who(let room, let after, let limit):
            try container.encode("who", forKey: .op)
            try container.encode(room, forKey: .room)
            try container.encodeIfPresent(after, forKey: .after)
            try container.encodeIfPresent(limit, forKey: .limit)
        case .say(let room, let text):
            try container.encode("say", forKey: .op)
            try container.encode(room, forKey: .room)
            try container.encode(text, forKey: .text)
        case .direct(let to, let text):
            try container.encode("direct", forKey: .op)
            try container.encode(to, forKey: .to)
            try container.encode(text, forKey: .text)
        }
    }
}
