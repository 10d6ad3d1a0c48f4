/// Finds rooms by name and remembers which rooms each connection is in. Touched on join, leave,
/// listing and disconnect only: saying something goes straight to the room's own actor.
actor ChatDirectory {
    private let limits: ChatLimits
    private var rooms: [String: ChatRoom] = [:]
    private var membership: [UInt64: Set<String>] = [:]
    private var sinks: [UInt64: EventSink] = [:]

    init(limits: ChatLimits) { self.limits = limits }

    /// Remembers how to reach a session for direct messages.
    func register(_ sink: EventSink) { sinks[sink.connectionID] = sink }

    func sink(for id: UInt64) -> EventSink? { sinks[id] }

    /// The room called `name`, created if `create` and there is space.
    func room(_ name: String, create: Bool) async throws -> ChatRoom {
        if let room = rooms[name] { return room }
        guard create else { throw ServiceError("there is no room \"\(name)\"") }
        if rooms.count >= limits.maximumRooms {
            for (key, room) in rooms where await room.isEmpty {
                rooms.removeValue(forKey: key)
                break
            }
        }
        // Re-check after the awaits above: another join may have created it meanwhile.
        if let room = rooms[name] { return room }
        guard rooms.count < limits.maximumRooms else {
            throw ServiceError("the server has reached its limit of \(limits.maximumRooms) rooms")
        }
        let room = ChatRoom(name: name, historySize: limits.historySize)
        rooms[name] = room
        return room
    }

    /// Records that a connection joined `room`, enforcing the per-connection limit.
    func recordJoin(_ id: UInt64, room: String) throws {
        var joined = membership[id, default: []]
        guard joined.contains(room) || joined.count < limits.maximumRoomsPerConnection else {
            throw ServiceError("you are already in \(joined.count) rooms, the limit; leave one first")
        }
        joined.insert(room)
        membership[id] = joined
    }

    func recordLeave(_ id: UInt64, room: String) {
        membership[id]?.remove(room)
    }

    func roomsOf(_ id: UInt64) -> [ChatRoom] {
        (membership[id] ?? []).compactMap { rooms[$0] }
    }

    /// Forgets a connection entirely; returns the rooms it was in.
    func forget(_ id: UInt64) -> [ChatRoom] {
        let joined = roomsOf(id)
        membership.removeValue(forKey: id)
        sinks.removeValue(forKey: id)
        return joined
    }

    func summaries() async -> [ChatRoomSummary] {
        var result: [ChatRoomSummary] = []
        for (name, room) in rooms { result.append(ChatRoomSummary(name: name, members: await room.memberCount)) }
        return result.sorted { $0.name < $1.name }
    }
}
