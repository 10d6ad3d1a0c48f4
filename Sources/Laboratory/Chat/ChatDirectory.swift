/// Finds rooms by name and remembers which rooms each connection is in. Touched on join, leave,
/// listing and disconnect only: saying something goes straight to the room's own actor.
actor ChatDirectory {
    private let limits: ChatLimits
    private var rooms: [String: ChatRoom] = [:]
    private var membership: [UInt64: Set<String>] = [:]
    /// Members per room as recorded here, so eviction never has to ask the rooms.
    private var memberCounts: [String: Int] = [:]
    private var sinks: [UInt64: EventSink] = [:]

    init(limits: ChatLimits) { self.limits = limits }

    /// Remembers how to reach a session for direct messages.
    func register(_ sink: EventSink) { sinks[sink.connectionID] = sink }

    func sink(for id: UInt64) -> EventSink? { sinks[id] }

    /// The room called `name`, if it exists.
    func room(_ name: String) throws -> ChatRoom {
        guard let room = rooms[name] else { throw ServiceError("there is no room \"\(name)\"") }
        return room
    }

    /// Records that connection `id` joins `name`, creating the room if needed, all in one step on
    /// this actor: limits are checked before anything changes, and an empty room is never
    /// evicted while a join is on its way to it.
    func join(_ id: UInt64, room name: String, serviceName: String) throws -> ChatRoom {
        var joined = membership[id, default: []]
        guard joined.contains(name) || joined.count < limits.maximumRoomsPerConnection else {
            throw ServiceError("you are already in \(joined.count) rooms, the limit; leave one first")
        }
        let room: ChatRoom
        if let existing = rooms[name] {
            room = existing
        } else {
            if rooms.count >= limits.maximumRooms,
                let empty = rooms.keys.first(where: { memberCounts[$0, default: 0] == 0 })
            {
                rooms.removeValue(forKey: empty)
            }
            guard rooms.count < limits.maximumRooms else {
                throw ServiceError("the server has reached its limit of \(limits.maximumRooms) rooms")
            }
            room = ChatRoom(name: name, serviceName: serviceName, historySize: limits.historySize)
            rooms[name] = room
        }
        if !joined.contains(name) {
            joined.insert(name)
            membership[id] = joined
            memberCounts[name, default: 0] += 1
        }
        return room
    }

    func recordLeave(_ id: UInt64, room: String) {
        guard membership[id]?.remove(room) != nil else { return }
        memberCounts[room, default: 1] -= 1
    }

    func roomsOf(_ id: UInt64) -> [ChatRoom] {
        (membership[id] ?? []).compactMap { rooms[$0] }
    }

    /// Forgets a connection entirely; returns the rooms it was in.
    func forget(_ id: UInt64) -> [ChatRoom] {
        let joined = roomsOf(id)
        for name in membership.removeValue(forKey: id) ?? [] { memberCounts[name, default: 1] -= 1 }
        sinks.removeValue(forKey: id)
        return joined
    }

    func summaries() async -> [ChatRoomSummary] {
        var result: [ChatRoomSummary] = []
        for (name, room) in rooms { result.append(ChatRoomSummary(name: name, members: await room.memberCount)) }
        return result.sorted { $0.name < $1.name }
    }
}
