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
///
/// Its state is internal rather than private only so that `SharedChatRoom+Following.swift` can
/// reach it; the actor isolates it, and nothing outside this type touches it.
actor SharedChatRoom: ChatRoomActor {
    /// A member here. A class, so that delivering to every member changes no dictionary.
    final class Member {
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

    /// An event held here: its number, what members are pushed, and whether it is a `message`
    /// (for the deliveries counter).
    struct Held {
        let sequence: UInt64
        let event: ServiceEvent
        let isMessage: Bool
    }

    let name: String
    let serviceName: String
    /// The most members a `join` reply lists.
    let pageSize: Int
    let backplane: any ChatBackplane
    /// Where departures retried in the background run (stopped with the store).
    let background: ChatBackgroundTasks
    let metrics: ServerMetrics
    let logger = Logger(label: "laboratory.chat")

    var members: [UInt64: Member] = [:]
    /// Joins under way (between recording presence and adding the member here); the room keeps
    /// following while there are any.
    var joining = 0
    /// While following: the number up to which every event of the room has been received here.
    var frontier: UInt64?
    /// The latest events up to ``frontier``, consecutive, at most ``recentLimit``: what members
    /// that are a little behind (a join that just finished) are served from.
    var recent: Deque<Held> = []
    /// Events received beyond a gap, by number, until the gap is filled.
    var ahead: [UInt64: ChatBackplaneEntry] = [:]
    /// The task that reads the subscription, while following.
    var follower: Task<Void, Never>?
    /// The task that reads history once whenever the room falls quiet, while following.
    var watchdog: Task<Void, Never>?
    var subscription: ChatSubscription?
    /// Counts the times following started, so that a stopped follower's late deliveries are ignored.
    var generation: UInt64 = 0
    /// The history read in progress, shared by everyone waiting for the room to catch up.
    var filling: Task<Void, any Error>?
    /// Members whose departure is being recorded in the background.
    var departing: Set<UInt64> = []

    /// How many recent events the room holds for members a little behind.
    static let recentLimit = 128
    /// The most bytes of event bodies one `join` replays (half the slow-consumer bound).
    static let replayByteLimit = 512 * 1024
    /// How many events beyond a gap the room holds while it reads history.
    static let aheadLimit = 4096

    /// The most events a `join` with `after` replays (older ones are reported missed).
    let replayLimit: Int

    init(
        name: String, backplane: any ChatBackplane, background: ChatBackgroundTasks, serviceName: String,
        pageSize: Int, replayLimit: Int, metrics: ServerMetrics
    ) {
        self.name = name
        self.replayLimit = replayLimit
        self.backplane = backplane
        self.background = background
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
    /// be read after a few tries: the client learns that it missed them).
    func replay(to sink: EventSink, _ after: UInt64, _ joined: ChatBackplaneEntry) async -> (
        Int, UInt64?, UInt64?
    ) {
        // `after < joined - 1` first: `after + 1` must not overflow for a huge `after`.
        guard after < joined.sequence - 1 else { return (0, nil, nil) }
        // The member's `joined` is recorded already, so a failed read is tried again a few times
        // (a store that just came back, a call timed out under load: 1.5 s in all) before the
        // events are reported missed: they are still kept, and reporting them lost would be false.
        let history = await retrying(attempts: 5) {
            try await backplane.history(of: name, after: after)
        } failed: { attempt, error in
            logger.warning(
                "chat store unavailable: replay not read",
                metadata: ["room": "\(name)", "attempt": "\(attempt)", "error": "\(error)"])
        }
        guard let history else { return (0, after + 1, joined.sequence - 1) }
        var replayed = 0
        var expected = after + 1
        // The newest `replayLimit` before the member's `joined`: what a client is replayed is the
        // same however much more the store keeps.
        var replaying = history.entries.filter { $0.sequence < joined.sequence }.suffix(replayLimit)
        // And at most `replayByteLimit` bytes, the newest kept: a replay stays within the
        // slow-consumer bound however large the window (PROTOCOL.md §12).
        var bytes = replaying.reduce(0) { $0 + $1.body.count }
        while bytes > Self.replayByteLimit, let oldest = replaying.first {
            bytes -= oldest.body.count
            replaying.removeFirst()
        }
        for entry in replaying {
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
            throw Self.unavailable(
                error, "; you have left here, and the other servers will be told when the store is back")
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
            if receive(try await backplane.append(event(.renamed, from: session, oldName: oldName), to: name)) {
                try await fill()
            }
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

    // MARK: Events

    func event(
        _ kind: ChatEvent.Kind, from session: SessionIdentity, text: String? = nil, oldName: String? = nil
    ) -> ChatEvent {
        ChatEvent(
            kind: kind, room: name, sequence: nil, from: session.connectionID, name: session.displayName,
            oldName: oldName, text: text, time: Int64(Date().timeIntervalSince1970 * 1000))
    }

    struct KindOnly: Decodable { var kind: ChatEvent.Kind }

    static func isMessage(_ entry: ChatBackplaneEntry) -> Bool {
        (try? JSONDecoder().decode(KindOnly.self, from: Data(entry.body)))?.kind == .message
    }

    /// Tries `call` up to `attempts` times until it succeeds, pausing 0.1 s before the second try
    /// and twice as long before each next one (at most 2 s); tells `failed` of each failure (with
    /// the try's number). `nil` when every try failed, or when the task is cancelled (no try
    /// starts after that).
    func retrying<T>(
        attempts: Int, _ call: () async throws -> T, failed: (Int, any Error) -> Void = { _, _ in }
    ) async -> T? {
        var pause = Duration.milliseconds(100)
        for attempt in 1...attempts {
            if attempt > 1 {
                do { try await Task.sleep(for: pause) } catch { return nil }
                pause = min(pause * 2, .seconds(2))
            }
            do {
                return try await call()
            } catch {
                failed(attempt, error)
            }
        }
        return nil
    }

    /// Runs a backplane call, turning its failure into the error the client is shown.
    func store<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as ServiceError {
            throw error
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// The request's error for a backplane call that failed: `chat store unavailable: …`, once
    /// (a backplane whose own errors already say so is not prefixed again).
    static func unavailable(_ error: any Error, _ suffix: String = "") -> ServiceError {
        let text = "\(error)"
        let prefix = "chat store unavailable: "
        return ServiceError((text.hasPrefix(prefix) ? text : prefix + text) + suffix)
    }
}
