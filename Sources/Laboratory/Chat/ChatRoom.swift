import Foundation
@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore

/// One chat room on this server: its members and their sinks. Its numbering, history and presence
/// are its ``InMemoryChatBackplane/RoomLog``'s; every event is numbered there and handed to every
/// member's event loop from inside the actor, in order, so all members see the same order.
///
/// An event is encoded once, then each event loop that writes for members gets one task that seals
/// it for each of its members (each has its own keys) into that member's pending output: the loops
/// seal in parallel, and a member's events that arrive between two turns of its loop go out in one
/// write. The actor waits for those tasks before the event's request is answered, so the sender's
/// own event precedes its reply and a member dropped as a slow consumer is announced at once.
actor ChatRoom: ChatRoomActor {
    struct Member {
        var name: String
        let sink: EventSink
    }

    /// The members whose sessions one event loop writes for.
    private struct LoopMembers {
        let loop: any EventLoop
        var sinks: [UInt64: EventSink] = [:]
    }

    let name: String
    /// The name the chat service is registered under; events carry it.
    private let serviceName: String
    /// The most members a `join` reply lists.
    private let pageSize: Int
    private var members: [UInt64: Member] = [:]
    /// The members' ids in ascending order, for listing a page without sorting them all.
    private var order: [UInt64] = []
    /// The members by the event loop that writes their frames.
    private var byLoop: [ObjectIdentifier: LoopMembers] = [:]
    /// Members whose sinks name no event loop (test back ends): pushed to from the actor.
    private var unlooped: [UInt64: EventSink] = [:]
    /// Numbers, keeps and records what happens here (the backplane's side of the room).
    private let log: InMemoryChatBackplane.RoomLog
    /// Counts the messages delivered to members.
    private let metrics: ServerMetrics

    init(log: InMemoryChatBackplane.RoomLog, serviceName: String, pageSize: Int, metrics: ServerMetrics = .disabled) {
        self.name = log.name
        self.log = log
        self.serviceName = serviceName
        self.metrics = metrics
        self.pageSize = pageSize
    }

    /// The number of the room's latest event (0 before its first).
    var latestSequence: UInt64 { log.latest }

    var memberCount: Int { members.count }
    var isEmpty: Bool { members.isEmpty }

    private func add(_ id: UInt64, _ member: Member) {
        members[id] = member
        if let loop = member.sink.eventLoop {
            byLoop[ObjectIdentifier(loop), default: LoopMembers(loop: loop)].sinks[id] = member.sink
        } else {
            unlooped[id] = member.sink
        }
        log.join(id, name: member.name)
        order.insert(id, at: index(notBelow: id))
    }

    private func remove(_ id: UInt64) -> Member? {
        guard let member = members.removeValue(forKey: id) else { return nil }
        if let loop = member.sink.eventLoop {
            let key = ObjectIdentifier(loop)
            byLoop[key]?.sinks[id] = nil
            if byLoop[key]?.sinks.isEmpty == true { byLoop[key] = nil }
        } else {
            unlooped[id] = nil
        }
        log.leave(id)
        let index = index(notBelow: id)
        if index < order.count, order[index] == id { order.remove(at: index) }
        return member
    }

    /// The index in `order` of the first id not below `id`.
    private func index(notBelow id: UInt64) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Up to `limit` members with ids above `after` (from the lowest without it), in id order, and
    /// the cursor for the next page if more follow.
    func memberPage(after: UInt64?, limit: Int) -> (members: [ChatMember], next: String?) {
        let start = after.map { $0 == .max ? order.count : index(notBelow: $0 + 1) } ?? 0
        let end = min(order.count, start + limit)
        let page = order[start..<end].compactMap { id in members[id].map { ChatMember(id: id, name: $0.name) } }
        return (page, end < order.count ? page.last.map { String($0.id) } : nil)
    }

    func contains(_ id: UInt64) -> Bool { members[id] != nil }

    /// Adds a member, replays what it missed after `after`, then announces it. Returns the reply.
    func join(_ session: SessionIdentity, sink: EventSink, after: UInt64?) async -> ChatReply {
        var reply = ChatReply()
        // The joiner's own `joined` (PROTOCOL.md: the reply's `sequence`); read from the room only
        // when the join added nothing, since another member's `say` can run while this join
        // waits for the event loops and take the next number.
        var joinedSequence: UInt64?
        if members[session.connectionID] == nil {
            add(session.connectionID, Member(name: session.displayName, sink: sink))
            if let after {
                let history = log.history(after: after)
                for entry in history.entries { sink.push(ServiceEvent(service: serviceName, body: entry.body)) }
                reply.replayed = history.entries.count
                let oldest = history.oldest
                // `after < latest` first: `after + 1` must not overflow for a huge `after`.
                if after < history.latest, after + 1 < oldest {
                    reply.missedFrom = after + 1
                    reply.missedTo = oldest - 1
                }
            }
            joinedSequence = await broadcast(kind: .joined, from: session)
        }
        (reply.members, reply.next) = memberPage(after: nil, limit: pageSize)
        reply.sequence = joinedSequence ?? latestSequence
        return reply
    }

    /// Removes a member and announces it. Returns whether it was a member.
    @discardableResult
    func leave(_ session: SessionIdentity) async -> Bool {
        guard let member = remove(session.connectionID) else { return false }
        await broadcast(kind: .left, from: session)
        // Events handed to the member's loop before it left reach it before the reply: its loop
        // gets no task for the `left` itself if no other member is on it.
        if let loop = member.sink.eventLoop { try? await loop.submit {}.get() }
        return true
    }

    /// Says `text` from a member; returns the message's sequence number.
    func say(_ text: String, from session: SessionIdentity) async throws -> UInt64 {
        guard members[session.connectionID] != nil else {
            throw ServiceError("you are not in room \"\(name)\"; join it first")
        }
        return await broadcast(kind: .message, from: session, text: text)
    }

    /// Records a member's new name and announces it.
    func rename(_ session: SessionIdentity, from oldName: String) async {
        guard members[session.connectionID] != nil else { return }
        members[session.connectionID]?.name = session.displayName
        log.join(session.connectionID, name: session.displayName)
        await broadcast(kind: .renamed, from: session, oldName: oldName)
    }

    /// Numbers an event, keeps it in the history and pushes it to every member. Members whose
    /// sessions refuse it (ended, or disconnected as slow consumers) are removed and announced.
    /// Returns once every member's session has the event sealed and queued.
    ///
    /// Everything up to the hand-over to the event loops runs without suspending, so events reach
    /// each loop, and so each member, in sequence order even while an earlier event's tasks are
    /// still being awaited.
    @discardableResult
    private func broadcast(
        kind: ChatEvent.Kind, from session: SessionIdentity, text: String? = nil, oldName: String? = nil
    ) async -> UInt64 {
        let entry = log.append(
            ChatEvent(
                kind: kind, room: name, sequence: nil, from: session.connectionID, name: session.displayName,
                oldName: oldName, text: text, time: Int64(Date().timeIntervalSince1970 * 1000)))
        let event = ServiceEvent(service: serviceName, body: entry.body)
        // The frame payload is the same for every member; only the sealing is per member. (Sinks
        // without an event loop, as in LaboratoryTesting, take the event itself.)
        let payload = byLoop.isEmpty ? [] : ServerMessage.event(event).encoded()
        let recipients = members.count
        var tasks: [EventLoopFuture<[UInt64]>] = []
        tasks.reserveCapacity(byLoop.count)
        for group in byLoop.values {
            let sinks = group.sinks
            tasks.append(
                group.loop.submit {
                    var refused: [UInt64] = []
                    for (id, sink) in sinks where !sink.push(event, encoded: payload) { refused.append(id) }
                    return refused
                })
        }
        var gone: [UInt64] = []
        for (id, sink) in unlooped where !sink.push(event) { gone.append(id) }
        for task in tasks {
            // A loop that is shutting down refuses the task; its sessions are ending anyway.
            gone += (try? await task.get()) ?? []
        }
        if kind == .message { metrics.chatDeliveries.increment(by: recipients - gone.count) }
        for id in gone {
            guard let member = remove(id) else { continue }
            await broadcast(
                kind: .left, from: SessionIdentity(connectionID: id, remoteAddress: nil, displayName: member.name))
        }
        return entry.sequence
    }
}
