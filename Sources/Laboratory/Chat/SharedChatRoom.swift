import DequeModule
import Foundation
import LaboratoryProtocol
import Logging

/// One chat room on this node when the rooms live in a shared ``ChatBackplane`` (several server
/// processes on one store form one chat): this node's members of the room and their sinks.
///
/// The backplane is the truth: it numbers and keeps every event, from any node. This actor
/// follows the room with one subscription while it has members here, and delivers to each local
/// member every event from its own `joined` until it leaves, once, in order, without gaps: each
/// member has a cursor (the last number pushed to it) and gets event `s` only when its cursor is
/// `s - 1`. Notifications only wake the room up: whenever an event arrives beyond the next one
/// expected (a subscription that ended and was renewed, events overtaking each other), the room
/// reads ``ChatBackplane/history(of:after:)`` to fill the gap. A request that changes the room
/// (`join`, `say`) pushes its own event to the caller before it replies, reading history itself
/// when the subscription has not delivered it yet.
///
/// A backplane call that throws fails that request with `chat store unavailable: …` and leaves
/// the room as it was; a departure (a `leave`, a session's end, a slow consumer dropped) that
/// cannot be recorded is retried in the background, so the other nodes learn of it once the
/// store is back.
actor SharedChatRoom: ChatRoomActor {
    /// A member here. A class, so that delivering to every member changes no dictionary.
    private final class Member {
        var name: String
        let sink: EventSink
        /// The number of the last event pushed to it.
        var cursor: UInt64

        init(name: String, sink: EventSink, cursor: UInt64) {
            self.name = name
            self.sink = sink
            self.cursor = cursor
        }
    }

    /// An event held here, and whether it is a `message` (for the deliveries counter).
    private struct Held {
        let entry: ChatBackplaneEntry
        let isMessage: Bool
    }

    let name: String
    private let serviceName: String
    /// The most members a `join` reply lists.
    private let pageSize: Int
    private let backplane: any ChatBackplane
    private let metrics: ServerMetrics
    private let logger = Logger(label: "laboratory.chat")

    private var members: [UInt64: Member] = [:]
    /// Joins under way (between recording presence and adding the member here); the room keeps
    /// following while there are any.
    private var joining = 0
    /// While following: the number up to which every event of the room has been received here.
    private var frontier: UInt64?
    /// The latest events up to ``frontier``, consecutive, at most ``recentLimit``: what members
    /// that are a little behind (a join that just finished) are served from.
    private var recent: Deque<Held> = []
    /// Events received beyond a gap, by number, until the gap is filled.
    private var ahead: [UInt64: ChatBackplaneEntry] = [:]
    /// The task that reads the subscription, while following.
    private var follower: Task<Void, Never>?
    private var subscription: ChatSubscription?
    /// Counts the times following started, so that a stopped follower's late deliveries are ignored.
    private var generation: UInt64 = 0
    /// The history read in progress, shared by everyone waiting for the room to catch up.
    private var filling: Task<Void, any Error>?
    /// Members whose departure is being recorded in the background.
    private var departing: Set<UInt64> = []

    /// How many recent events the room holds for members a little behind.
    static let recentLimit = 128
    /// How many events beyond a gap the room holds while it reads history.
    static let aheadLimit = 4096

    init(name: String, backplane: any ChatBackplane, serviceName: String, pageSize: Int, metrics: ServerMetrics) {
        self.name = name
        self.backplane = backplane
        self.serviceName = serviceName
        self.pageSize = pageSize
        self.metrics = metrics
    }

    // MARK: Requests

    /// Records the member (presence, then its `joined`), replays what it missed after `after`
    /// from the backplane's history, pushes its own `joined`, then returns the reply listing the
    /// members on every node.
    func join(_ session: SessionIdentity, sink: EventSink, after: UInt64?) async throws -> ChatReply {
        let id = session.connectionID
        if let member = members[id] {
            var reply = ChatReply()
            (reply.members, reply.next) = try await memberPage(after: nil, limit: pageSize)
            reply.sequence = member.cursor
            return reply
        }
        departing.remove(id)
        joining += 1
        defer {
            joining -= 1
            stopFollowingIfIdle()
        }
        startFollowing()
        try await store { try await backplane.join(id, name: session.displayName, room: name) }
        let joined: ChatBackplaneEntry
        do {
            joined = try await store { try await backplane.append(event(.joined, from: session), to: name) }
        } catch {
            _ = try? await backplane.leave(id, room: name)
            throw error
        }
        if frontier == nil { start(at: joined.sequence - 1) }
        receive(joined)
        var reply = ChatReply()
        if let after { (reply.replayed, reply.missedFrom, reply.missedTo) = await replay(to: sink, after, joined) }
        members[id] = Member(name: session.displayName, sink: sink, cursor: joined.sequence - 1)
        try await catchUp(id, through: joined.sequence)
        reply.sequence = members[id]?.cursor ?? joined.sequence
        (reply.members, reply.next) = try await memberPage(after: nil, limit: pageSize)
        return reply
    }

    /// Pushes the kept events numbered after `after` and before the member's `joined` to `sink`;
    /// returns how many, and the numbers it can no longer have (all of them when history cannot
    /// be read now: the client learns that it missed them).
    private func replay(to sink: EventSink, _ after: UInt64, _ joined: ChatBackplaneEntry) async -> (
        Int, UInt64?, UInt64?
    ) {
        // `after < joined - 1` first: `after + 1` must not overflow for a huge `after`.
        guard after < joined.sequence - 1 else { return (0, nil, nil) }
        let history: ChatHistory
        do {
            history = try await backplane.history(of: name, after: after)
        } catch {
            logger.warning(
                "chat store unavailable: replay lost", metadata: ["room": "\(name)", "error": "\(error)"])
            return (0, after + 1, joined.sequence - 1)
        }
        var replayed = 0
        var expected = after + 1
        for entry in history.entries where entry.sequence < joined.sequence {
            if replayed == 0 { expected = entry.sequence }
            guard entry.sequence == expected else { break }
            sink.push(ServiceEvent(service: serviceName, body: entry.body))
            replayed += 1
            expected += 1
        }
        let firstReplayed = replayed == 0 ? joined.sequence : expected - UInt64(replayed)
        return firstReplayed > after + 1 ? (replayed, after + 1, firstReplayed - 1) : (replayed, nil, nil)
    }

    /// Removes a member here and records its departure (presence, then `left`). Returns whether
    /// it was a member. When the store fails, the departure is retried in the background and the
    /// error is thrown: the member is gone here already.
    func leave(_ session: SessionIdentity) async throws -> Bool {
        guard let member = members.removeValue(forKey: session.connectionID) else { return false }
        defer { stopFollowingIfIdle() }
        do {
            try await recordDeparture(session.connectionID, name: member.name)
        } catch {
            departLater(session.connectionID, name: member.name)
            throw ServiceError(
                "chat store unavailable: \(error); you have left here, and the other servers will be told when the store is back"
            )
        }
        return true
    }

    /// Appends a member's `message` and returns its number once it has been pushed to the member.
    func say(_ text: String, from session: SessionIdentity) async throws -> UInt64 {
        guard members[session.connectionID] != nil else {
            throw ServiceError("you are not in room \"\(name)\"; join it first")
        }
        let entry = try await store { try await backplane.append(event(.message, from: session, text: text), to: name) }
        receive(entry)
        try await catchUp(session.connectionID, through: entry.sequence)
        return entry.sequence
    }

    /// Records a member's new name (presence, then `renamed`). A store failure is logged: the
    /// rename has happened on the session, which is not a request that can fail.
    func rename(_ session: SessionIdentity, from oldName: String) async {
        guard let member = members[session.connectionID] else { return }
        member.name = session.displayName
        do {
            try await backplane.join(session.connectionID, name: session.displayName, room: name)
            receive(try await backplane.append(event(.renamed, from: session, oldName: oldName), to: name))
        } catch {
            logger.warning(
                "chat store unavailable: rename not recorded",
                metadata: ["room": "\(name)", "connection": "\(session.connectionID)", "error": "\(error)"])
        }
    }

    /// A page of the members on every node, from the backplane's presence.
    func memberPage(after: UInt64?, limit: Int) async throws -> (members: [ChatMember], next: String?) {
        let all = try await store { try await backplane.members(of: name) }
        return Self.page(all, after: after, limit: limit)
    }

    /// Up to `limit` of `members` (in ascending id order) with ids above `after`, and the cursor
    /// for the next page if more follow.
    static func page(_ members: [ChatMember], after: UInt64?, limit: Int) -> (members: [ChatMember], next: String?) {
        let start = after.map { cursor in members.firstIndex { $0.id > cursor } ?? members.count } ?? 0
        let end = min(members.count, start + limit)
        let page = Array(members[start..<end])
        return (page, end < members.count ? page.last.map { String($0.id) } : nil)
    }

    // MARK: Following the room

    /// Starts the subscription task, unless it runs.
    private func startFollowing() {
        guard follower == nil else { return }
        generation += 1
        let generation = generation
        follower = Task { await self.follow(generation) }
    }

    /// Stops following once the room has no members here and no join under way: the next join
    /// starts afresh from its own `joined`.
    private func stopFollowingIfIdle() {
        guard members.isEmpty, joining == 0, follower != nil else { return }
        follower?.cancel()
        subscription?.cancel()
        follower = nil
        subscription = nil
        generation += 1
        frontier = nil
        recent.removeAll()
        ahead.removeAll()
    }

    /// Subscribes, reads history from the frontier (what was appended while not subscribed), then
    /// delivers what the subscription brings; subscribes again when it ends or fails, waiting a
    /// little longer after each failure.
    private func follow(_ generation: UInt64) async {
        var delay = Duration.milliseconds(50)
        while !Task.isCancelled, generation == self.generation {
            do {
                let subscription = try await backplane.subscribe(to: name)
                guard !Task.isCancelled, generation == self.generation else {
                    subscription.cancel()
                    return
                }
                self.subscription = subscription
                try await fill()
                delay = .milliseconds(50)
                for await entry in subscription.events {
                    guard generation == self.generation else { break }
                    if receive(entry) { try await fill() }
                }
                subscription.cancel()
                if Task.isCancelled || generation != self.generation { return }
                logger.debug("chat subscription ended; subscribing again", metadata: ["room": "\(name)"])
            } catch {
                if Task.isCancelled || generation != self.generation { return }
                self.subscription?.cancel()
                self.subscription = nil
                logger.warning(
                    "chat store unavailable: following the room", metadata: ["room": "\(name)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// Takes in an event of the room, from the subscription, an append or history, and delivers
    /// what is now consecutive. Returns whether a gap waits to be filled.
    @discardableResult
    private func receive(_ entry: ChatBackplaneEntry) -> Bool {
        guard var frontier else { return false }
        if entry.sequence <= frontier { return !ahead.isEmpty }
        if entry.sequence > frontier + 1 {
            if ahead.count < Self.aheadLimit { ahead[entry.sequence] = entry }
            return true
        }
        var next: ChatBackplaneEntry? = entry
        while let entry = next {
            recent.append(Held(entry: entry, isMessage: Self.isMessage(entry)))
            frontier = entry.sequence
            next = ahead.removeValue(forKey: frontier + 1)
        }
        if recent.count > Self.recentLimit { recent.removeFirst(recent.count - Self.recentLimit) }
        self.frontier = frontier
        for (id, member) in members { deliver(member, id) }
        return !ahead.isEmpty
    }

    /// Pushes to member `id` the held events after its cursor, in order.
    private func deliver(_ member: Member, _ id: UInt64) {
        guard let frontier, member.cursor < frontier,
            let first = recent.first?.entry.sequence, member.cursor + 1 >= first
        else { return }
        var delivered = 0
        for index in Int(member.cursor + 1 - first)..<recent.count {
            let held = recent[index]
            guard member.sink.push(ServiceEvent(service: serviceName, body: held.entry.body)) else {
                members[id] = nil
                if delivered > 0 { metrics.chatDeliveries.increment(by: delivered) }
                departLater(id, name: member.name)
                return
            }
            member.cursor = held.entry.sequence
            if held.isMessage { delivered += 1 }
        }
        if delivered > 0 { metrics.chatDeliveries.increment(by: delivered) }
    }

    /// Returns once member `id` has been pushed every event up to `target` (or is gone), reading
    /// history when the room or the member is behind.
    private func catchUp(_ id: UInt64, through target: UInt64) async throws {
        var fruitless = 0
        while let member = members[id], member.cursor < target {
            if let frontier, frontier >= target {
                deliver(member, id)
                if let after = members[id]?.cursor, after < target { try await readHistory(for: id, after: after) }
            } else {
                let before = frontier
                try await fill()
                // A history without the event that was appended (it cannot be, but a store might).
                fruitless = frontier == before ? fruitless + 1 : 0
                if fruitless > 2 {
                    throw ServiceError("chat store unavailable: its history of room \"\(name)\" lacks event \(target)")
                }
            }
        }
    }

    /// Reads the room's history from the frontier and takes it in; shared by everyone waiting.
    private func fill() async throws {
        if filling == nil {
            // Cleared by the task itself, on this actor, the moment it ends: a caller that finds
            // a task here always waits for a read that has not finished yet.
            filling = Task {
                defer { filling = nil }
                try await readHistory()
            }
        }
        try await filling!.value
    }

    private func readHistory() async throws {
        guard let from = frontier else { return }
        let history = try await store { try await backplane.history(of: name, after: from) }
        guard let frontier else { return }
        // Events the store no longer keeps: lost here, and said so in the log.
        let first = history.entries.first?.sequence ?? history.latest + 1
        if first > frontier + 1, history.latest > frontier {
            logger.warning(
                "chat events lost on this server: it fell behind the store's window",
                metadata: ["room": "\(name)", "from": "\(frontier + 1)", "to": "\(first - 1)"])
            skip(to: first - 1)
        }
        for entry in history.entries { receive(entry) }
    }

    /// Starts following from `sequence`: every event after it will be received here.
    private func start(at sequence: UInt64) {
        frontier = sequence
        recent.removeAll()
        ahead = ahead.filter { $0.key > sequence }
    }

    /// Moves the frontier and every member's cursor to `sequence` (events before it are lost).
    private func skip(to sequence: UInt64) {
        start(at: sequence)
        for member in members.values where member.cursor < sequence { member.cursor = sequence }
    }

    /// Reads the history after member `id`'s cursor and pushes what follows it (a member further
    /// behind than the recent events held here: a join that took long).
    private func readHistory(for id: UInt64, after cursor: UInt64) async throws {
        let history = try await store { try await backplane.history(of: name, after: cursor) }
        guard let member = members[id], member.cursor == cursor else { return }
        if let first = history.entries.first?.sequence, first > cursor + 1 { member.cursor = first - 1 }
        for entry in history.entries where entry.sequence == member.cursor + 1 && entry.sequence <= frontier ?? 0 {
            guard member.sink.push(ServiceEvent(service: serviceName, body: entry.body)) else {
                members[id] = nil
                departLater(id, name: member.name)
                return
            }
            member.cursor = entry.sequence
        }
        if member.cursor == cursor, let frontier {
            // Nothing the member lacks is kept any more: lost to it, and said so in the log.
            logger.warning(
                "chat events lost for a member: it fell behind the store's window",
                metadata: ["room": "\(name)", "connection": "\(id)", "from": "\(cursor + 1)", "to": "\(frontier)"])
            member.cursor = frontier
        }
    }

    // MARK: Departures

    /// Records in the backplane that `id` left: presence first, then its `left` event.
    private func recordDeparture(_ id: UInt64, name memberName: String) async throws {
        _ = try await backplane.leave(id, room: name)
        let session = SessionIdentity(connectionID: id, remoteAddress: nil, displayName: memberName)
        receive(try await backplane.append(event(.left, from: session), to: name))
    }

    /// Records `id`'s departure in the background, retrying while the store fails (for a minute),
    /// unless it joins again meanwhile.
    private func departLater(_ id: UInt64, name memberName: String) {
        guard departing.insert(id).inserted else { return }
        Task {
            await self.depart(id, name: memberName)
        }
    }

    private func depart(_ id: UInt64, name memberName: String) async {
        defer {
            departing.remove(id)
            stopFollowingIfIdle()
        }
        var delay = Duration.milliseconds(100)
        for _ in 0..<40 {
            guard members[id] == nil, departing.contains(id) else { return }
            do {
                try await recordDeparture(id, name: memberName)
                return
            } catch {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
        logger.error(
            "chat store unavailable: a departure could not be recorded",
            metadata: ["room": "\(name)", "connection": "\(id)"])
    }

    // MARK: Events

    private func event(
        _ kind: ChatEvent.Kind, from session: SessionIdentity, text: String? = nil, oldName: String? = nil
    ) -> ChatEvent {
        ChatEvent(
            kind: kind, room: name, sequence: nil, from: session.connectionID, name: session.displayName,
            oldName: oldName, text: text, time: Int64(Date().timeIntervalSince1970 * 1000))
    }

    private struct KindOnly: Decodable { var kind: ChatEvent.Kind }

    private static func isMessage(_ entry: ChatBackplaneEntry) -> Bool {
        (try? JSONDecoder().decode(KindOnly.self, from: Data(entry.body)))?.kind == .message
    }

    /// Runs a backplane call, turning its failure into the error the client is shown.
    private func store<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError("chat store unavailable: \(error)")
        }
    }
}
