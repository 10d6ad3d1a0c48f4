import LaboratoryProtocol

/// Who is in each room the user is in, as the join replies and the room's events tell it: for
/// the status line's member count, and to tell apart two members who share a display name.
struct RoomRoster: Equatable, Sendable {
    /// Per room: each member's display name by connection id.
    private var rooms: [String: [UInt64: String]] = [:]

    /// We joined `room`, whose members are `members` (the join reply's list).
    mutating func joined(_ room: String, members: [ChatMember]) {
        var names: [UInt64: String] = [:]
        for member in members { names[member.id] = member.name }
        // An event that arrived before the reply already counts: keep it.
        rooms[room] = names.merging(rooms[room] ?? [:]) { reply, _ in reply }
    }

    /// We left `room`: it is no longer tracked.
    mutating func left(_ room: String) {
        rooms[room] = nil
    }

    /// Applies a room's event (someone joined, left or was renamed) to a tracked room.
    mutating func apply(_ event: ChatEvent) {
        guard let room = event.room, rooms[room] != nil else { return }
        switch event.kind {
        case .joined, .renamed, .message: rooms[room]?[event.from] = event.name
        case .left: rooms[room]?[event.from] = nil
        case .direct: break
        }
    }

    /// How many members `room` has, if it is tracked.
    func count(in room: String) -> Int? { rooms[room]?.count }

    /// Whether another member of `room` than `id` is also called `name`.
    func isShared(_ name: String, by id: UInt64, in room: String) -> Bool {
        rooms[room]?.contains { $0.key != id && $0.value == name } ?? false
    }
}
