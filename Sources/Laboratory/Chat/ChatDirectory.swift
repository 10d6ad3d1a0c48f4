import LaboratoryProtocol
import OrderedCollections

/// Finds rooms by name, keeps each room's member count and each session's rooms, sink and request
/// budgets. Touched on join, leave, listing and disconnect only: saying something goes straight to
/// the room's own actor.
///
/// Everything here is bounded by the rooms that exist (at most ``ChatLimits/maximumRooms``, empty
/// ones included) and the sessions that are connected: a room that is forgotten leaves nothing
/// behind, so creating and leaving rooms without end uses no more memory than the room limit.
actor ChatDirectory {
    private struct Room {
        let room: any ChatRoomActor
        /// Members as recorded here, so listing and eviction never have to ask the room.
        var members: Int
    }

    private struct Session {
        var rooms: Set<String> = []
        var sink: EventSink
        var listing: TokenBucket?
        var membership: TokenBucket?
        var deliveries: TokenBucket?
    }

    /// Which request budget a request draws on.
    enum RequestKind {
        case listing, membership
        /// A message to a room's members (`say`) or to one session (`direct`, no room).
        case delivery(room: String?)
    }

    /// Makes a room on this node: its name, the chat service's name, the server's metrics.
    typealias RoomMaker = @Sendable (String, String, ServerMetrics) -> any ChatRoomActor

    private let limits: ChatLimits
    private let makeRoom: RoomMaker
    /// Told when a room is forgotten (the in-memory backplane then keeps only its last number).
    private let forgetting: @Sendable (String) -> Void
    private var rooms: [String: Room] = [:]
    /// Every room's name in ascending order, for listing a page without sorting.
    private var names: [String] = []
    /// The rooms without members, the one that has been empty longest first.
    private var emptyRooms: OrderedSet<String> = []
    private var sessions: [UInt64: Session] = [:]
    /// The server's metrics, from the first join's context: rooms with members, and memberships.
    private var metrics = ServerMetrics.disabled

    init(limits: ChatLimits, forgetting: @escaping @Sendable (String) -> Void, makeRoom: @escaping RoomMaker) {
        self.limits = limits
        self.forgetting = forgetting
        self.makeRoom = makeRoom
    }

    var bookkeeping: ChatBookkeeping {
        ChatBookkeeping(
            rooms: rooms.count, sortedNames: names.count, emptyRooms: emptyRooms.count, sessions: sessions.count,
            memberships: sessions.values.reduce(0) { $0 + $1.rooms.count })
    }

    /// Remembers how to reach a session for direct messages, and takes one request of `kind` from
    /// its budget.
    ///
    /// - Throws: a ``ServiceError`` with a ``ServiceError/retryAfter`` when the budget is spent.
    func admit(_ sink: EventSink, _ kind: RequestKind) throws {
        let id = sink.connectionID
        var session = sessions[id] ?? Session(sink: sink)
        defer { sessions[id] = session }
        let now = ContinuousClock.now
        switch kind {
        case .listing:
            guard let rate = limits.listingRate, let wait = session.listing.take(rate, at: now) else { return }
            throw ServiceError.rateLimited(
                "too many listing requests (at most \(rate.perSecond.formatted) a second, \(rate.burst) at once)",
                retryAfter: wait)
        case .membership:
            guard let rate = limits.membershipRate, let wait = session.membership.take(rate, at: now) else { return }
            throw ServiceError.rateLimited(
                "too many join and leave requests (at most \(rate.perSecond.formatted) a second, \(rate.burst) at once)",
                retryAfter: wait)
        case .delivery(let room):
            guard let rate = limits.deliveryRate else { return }
            // A message costs what the server spends on it: one delivery per member.
            let cost = room.map { max(1, rooms[$0]?.members ?? 1) } ?? 1
            guard let wait = session.deliveries.take(rate, cost: cost, at: now) else { return }
            throw ServiceError.rateLimited(
                "too many messages (at most \(rate.perSecond.formatted) deliveries a second, \(rate.burst) at once; "
                    + "this one would reach \(cost))",
                retryAfter: wait)
        }
    }

    func sink(for id: UInt64) -> EventSink? { sessions[id]?.sink }

    /// The room called `name`, if it exists.
    func room(_ name: String) throws -> any ChatRoomActor {
        guard let room = rooms[name]?.room else { throw ServiceError("there is no room \"\(name)\"") }
        return room
    }

    /// Records that connection `id` joins `name`, creating the room if needed, all in one step on
    /// this actor: limits are checked before anything changes, and an empty room is never
    /// evicted while a join is on its way to it. Returns the room, and whether the connection was
    /// not recorded in it before.
    func join(
        _ id: UInt64, sink: EventSink, room name: String, serviceName: String, metrics: ServerMetrics = .disabled
    ) throws -> (room: any ChatRoomActor, added: Bool) {
        if self.metrics === ServerMetrics.disabled { self.metrics = metrics }
        var session = sessions[id] ?? Session(sink: sink)
        guard session.rooms.contains(name) || session.rooms.count < limits.maximumRoomsPerConnection else {
            throw ServiceError("you are already in \(session.rooms.count) rooms, the limit; leave one first")
        }
        let room: any ChatRoomActor
        if let existing = rooms[name] {
            room = existing.room
        } else {
            if rooms.count >= limits.maximumRooms, let oldest = emptyRooms.first { forgetRoom(oldest) }
            guard rooms.count < limits.maximumRooms else {
                throw ServiceError("the server has reached its limit of \(limits.maximumRooms) rooms")
            }
            room = makeRoom(name, serviceName, self.metrics)
            rooms[name] = Room(room: room, members: 0)
            names.insert(name, at: firstIndex(after: name, orEqual: true))
        }
        guard session.rooms.insert(name).inserted else { return (room, false) }
        sessions[id] = session
        rooms[name]!.members += 1
        metrics.chatMembers.increment()
        if rooms[name]!.members == 1 {
            emptyRooms.remove(name)
            metrics.chatRooms.increment()
        }
        return (room, true)
    }

    func recordLeave(_ id: UInt64, room: String) {
        guard sessions[id]?.rooms.remove(room) != nil else { return }
        memberLeft(room)
    }

    func roomsOf(_ id: UInt64) -> [any ChatRoomActor] {
        (sessions[id]?.rooms ?? []).compactMap { rooms[$0]?.room }
    }

    /// Every room with members, with its members' connection ids (the admin API's room list).
    func membership() -> [String: [UInt64]] {
        var members: [String: [UInt64]] = [:]
        for (id, session) in sessions {
            for room in session.rooms { members[room, default: []].append(id) }
        }
        return members.mapValues { $0.sorted() }
    }

    /// Forgets a connection entirely; returns the rooms it was in.
    func forget(_ id: UInt64) -> [any ChatRoomActor] {
        guard let session = sessions.removeValue(forKey: id) else { return [] }
        for name in session.rooms { memberLeft(name) }
        return session.rooms.compactMap { rooms[$0]?.room }
    }

    /// Up to `limit` rooms whose names sort after `after` (from the first room without it), with
    /// their member counts as recorded here, and the cursor for the next page if more follow.
    /// Costs a binary search and the page: no room is visited.
    func page(after: String?, limit: Int) -> (rooms: [ChatRoomSummary], next: String?) {
        let start = after.map { firstIndex(after: $0, orEqual: false) } ?? 0
        let end = min(names.count, start + limit)
        let page = names[start..<end].map { ChatRoomSummary(name: $0, members: rooms[$0]?.members ?? 0) }
        return (page, end < names.count ? page.last?.name : nil)
    }

    private func memberLeft(_ name: String) {
        guard var room = rooms[name] else { return }
        room.members -= 1
        rooms[name] = room
        metrics.chatMembers.decrement()
        if room.members == 0 {
            emptyRooms.append(name)
            metrics.chatRooms.decrement()
        }
    }

    private func forgetRoom(_ name: String) {
        rooms.removeValue(forKey: name)
        emptyRooms.remove(name)
        forgetting(name)
        let index = firstIndex(after: name, orEqual: true)
        if index < names.count, names[index] == name { names.remove(at: index) }
    }

    /// The index of the first name greater than `name` (or equal to it, with `orEqual`).
    private func firstIndex(after name: String, orEqual: Bool) -> Int {
        var low = 0
        var high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < name || (!orEqual && names[middle] == name) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}

/// Sizes of the chat directory's tables, for tests that check they stay bounded.
package struct ChatBookkeeping: Hashable, Sendable {
    /// Rooms that exist, empty ones included.
    package var rooms: Int
    /// Entries in the sorted list of room names.
    package var sortedNames: Int
    /// Rooms without members, waiting to be forgotten when space is needed.
    package var emptyRooms: Int
    /// Sessions that have used chat and not ended.
    package var sessions: Int
    /// Room memberships over all sessions.
    package var memberships: Int

    package init(rooms: Int, sortedNames: Int, emptyRooms: Int, sessions: Int, memberships: Int) {
        self.rooms = rooms
        self.sortedNames = sortedNames
        self.emptyRooms = emptyRooms
        self.sessions = sessions
        self.memberships = memberships
    }
}

extension Optional where Wrapped == TokenBucket {
    /// Takes a token from the bucket, creating it full on first use.
    fileprivate mutating func take(_ rate: RequestRate, cost: Int = 1, at now: ContinuousClock.Instant) -> Duration? {
        if self == nil || self?.rate != rate { self = TokenBucket(rate, now: now) }
        return self!.take(cost, at: now)
    }
}

extension Double {
    fileprivate var formatted: String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
