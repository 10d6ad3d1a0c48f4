import Foundation
import LaboratoryProtocol

/// One chat room on this server: its members and their sinks. Its numbering, history and presence
/// are its ``InMemoryChatBackplane/RoomLog``'s; every event is numbered there and pushed to every
/// member from inside the actor, so all members see the same order.
actor ChatRoom: ChatRoomActor {
    struct Member {
        var name: String
        let sink: EventSink
    }

    let name: String
    /// The name the chat service is registered under; events carry it.
    private let serviceName: String
    /// The most members a `join` reply lists.
    private let pageSize: Int
    private var members: [UInt64: Member] = [:]
    /// The members' ids in ascending order, for listing a page without sorting them all.
    private var order: [UInt64] = []
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
        log.join(id, name: member.name)
        order.insert(id, at: index(notBelow: id))
    }

    private func remove(_ id: UInt64) -> Member? {
        guard let member = members.removeValue(forKey: id) else { return nil }
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
    func join(_ session: SessionIdentity, sink: EventSink, after: UInt64?) -> ChatReply {
        var reply = ChatReply()
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
            broadcast(kind: .joined, from: session)
        }
        (reply.members, reply.next) = memberPage(after: nil, limit: pageSize)
        reply.sequence = latestSequence
        return reply
    }

    /// Removes a member and announces it. Returns whether it was a member.
    @discardableResult
    func leave(_ session: SessionIdentity) -> Bool {
        guard remove(session.connectionID) != nil else { return false }
        broadcast(kind: .left, from: session)
        return true
    }

    /// Says `text` from a member; returns the message's sequence number.
    func say(_ text: String, from session: SessionIdentity) throws -> UInt64 {
        guard members[session.connectionID] != nil else {
            throw ServiceError("you are not in room \"\(name)\"; join it first")
        }
        return broadcast(kind: .message, from: session, text: text)
    }

    /// Records a member's new name and announces it.
    func rename(_ session: SessionIdentity, from oldName: String) {
        guard members[session.connectionID] != nil else { return }
        members[session.connectionID]?.name = session.displayName
        log.join(session.connectionID, name: session.displayName)
        broadcast(kind: .renamed, from: session, oldName: oldName)
    }

    /// Numbers an event, keeps it in the history and pushes it to every member. Members whose
    /// sessions refuse it (ended, or disconnected as slow consumers) are removed and announced.
    @discardableResult
    private func broadcast(
        kind: ChatEvent.Kind, from session: SessionIdentity, text: String? = nil, oldName: String? = nil
    )
        -> UInt64
    {
        let entry = log.append(
            ChatEvent(
                kind: kind, room: name, sequence: nil, from: session.connectionID, name: session.displayName,
                oldName: oldName, text: text, time: Int64(Date().timeIntervalSince1970 * 1000)))
        let serviceEvent = ServiceEvent(service: serviceName, body: entry.body)
        var gone: [(UInt64, Member)] = []
        for (id, member) in members where !member.sink.push(serviceEvent) {
            gone.append((id, member))
        }
        if kind == .message { metrics.chatDeliveries.increment(by: members.count - gone.count) }
        let sequence = entry.sequence
        for (id, member) in gone where remove(id) != nil {
            broadcast(
                kind: .left, from: SessionIdentity(connectionID: id, remoteAddress: nil, displayName: member.name))
        }
        return sequence
    }
}
