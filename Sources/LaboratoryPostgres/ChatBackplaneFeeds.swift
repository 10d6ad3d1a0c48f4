import Laboratory
import NIOConcurrencyHelpers

/// One node's subscriptions, by room, and which rooms need reading: the node's listener marks a
/// room when a notification names it (or every room after it reconnects), and the node's one
/// delivering task reads the marked rooms' new rows and hands them to their subscribers here.
/// Deliveries happen on that one task only, so each subscriber sees its room in number order.
final class ChatBackplaneFeeds: Sendable {
    private struct Subscriber {
        /// The last number this subscriber was given (or the room's latest when it subscribed).
        var cursor: UInt64
        let continuation: AsyncStream<ChatBackplaneEntry>.Continuation
    }

    private struct Feed {
        let roomID: Int64
        var subscribers: [Int: Subscriber] = [:]
    }

    private struct State {
        var feeds: [String: Feed] = [:]
        var rooms: [Int64: String] = [:]
        var dirty: Set<String> = []
        var nextSubscriber = 0
    }

    /// A room to read: its id and the number after which its subscribers still need events.
    struct Pending {
        let room: String
        let roomID: Int64
        let after: UInt64
    }

    private let state = NIOLockedValueBox(State())
    private let buffer: Int
    /// One element whenever there is something to read; several wake-ups coalesce into one.
    let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(buffer: Int) {
        self.buffer = buffer
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A new subscription to `room` (id `roomID`), delivering the events numbered above `latest`.
    /// The room is marked for reading at once: a notification that came before the subscription
    /// was registered would otherwise wait for the next one.
    func subscribe(room: String, roomID: Int64, latest: UInt64) -> ChatSubscription {
        let (events, continuation) = AsyncStream.makeStream(
            of: ChatBackplaneEntry.self, bufferingPolicy: .bufferingOldest(buffer))
        let id = state.withLockedValue { state in
            defer { state.nextSubscriber += 1 }
            state.feeds[room, default: Feed(roomID: roomID)].subscribers[state.nextSubscriber] = Subscriber(
                cursor: latest, continuation: continuation)
            state.rooms[roomID] = room
            state.dirty.insert(room)
            return state.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in self?.remove(id, from: room) }
        wake.yield()
        return ChatSubscription(events: events) { continuation.finish() }
    }

    private func remove(_ id: Int, from room: String) {
        state.withLockedValue { state in
            guard var feed = state.feeds[room] else { return }
            feed.subscribers[id] = nil
            if feed.subscribers.isEmpty {
                state.feeds[room] = nil
                state.rooms[feed.roomID] = nil
                state.dirty.remove(room)
            } else {
                state.feeds[room] = feed
            }
        }
    }

    /// Marks the room with id `roomID` for reading if anyone here subscribes to it.
    func notified(roomID: Int64) {
        let marked = state.withLockedValue { state in
            guard let room = state.rooms[roomID] else { return false }
            state.dirty.insert(room)
            return true
        }
        if marked { wake.yield() }
    }

    /// Marks `rooms` (every subscribed room when `nil`) for reading.
    func markDirty(_ rooms: [String]? = nil) {
        state.withLockedValue { state in
            for room in rooms ?? Array(state.feeds.keys) where state.feeds[room] != nil { state.dirty.insert(room) }
        }
        wake.yield()
    }

    /// Every subscribed room's id and the lowest number its subscribers have (for the periodic
    /// check that nothing was missed).
    var cursors: [Int64: UInt64] {
        state.withLockedValue { state in
            state.feeds.values.reduce(into: [:]) { cursors, feed in
                cursors[feed.roomID] = feed.subscribers.values.map(\.cursor).min()
            }
        }
    }

    /// Rooms to mark, by id, from the periodic check.
    func markDirty(roomIDs: [Int64]) {
        let rooms = state.withLockedValue { state in roomIDs.compactMap { state.rooms[$0] } }
        if !rooms.isEmpty { markDirty(rooms) }
    }

    /// The marked rooms (unmarking them), each with the number to read after.
    func takeDirty() -> [Pending] {
        state.withLockedValue { state in
            defer { state.dirty = [] }
            return state.dirty.compactMap { room in
                guard let feed = state.feeds[room], let after = feed.subscribers.values.map(\.cursor).min() else {
                    return nil
                }
                return Pending(room: room, roomID: feed.roomID, after: after)
            }
        }
    }

    /// Hands `entries` (consecutive rows of `room`, in order) to each subscriber that has not had
    /// them. A subscriber whose next number is missing (pruned before it could be read) or whose
    /// buffer is full is ended: it reads history and subscribes again (see `ChatBackplane`).
    func deliver(_ entries: [ChatBackplaneEntry], to room: String) {
        var ended: [AsyncStream<ChatBackplaneEntry>.Continuation] = []
        state.withLockedValue { state in
            guard var feed = state.feeds[room] else { return }
            for (id, var subscriber) in feed.subscribers {
                var keep = true
                for entry in entries where entry.sequence > subscriber.cursor {
                    guard entry.sequence == subscriber.cursor + 1 else {
                        keep = false
                        break
                    }
                    if case .dropped = subscriber.continuation.yield(entry) {
                        keep = false
                        break
                    }
                    subscriber.cursor = entry.sequence
                }
                if keep {
                    feed.subscribers[id] = subscriber
                } else {
                    feed.subscribers[id] = nil
                    ended.append(subscriber.continuation)
                }
            }
            state.feeds[room] = feed
        }
        // Outside the lock: ending a stream runs its termination handler, which takes it.
        for continuation in ended { continuation.finish() }
    }

    /// Ends every subscription (the node is stopping).
    func finishAll() {
        let all = state.withLockedValue { state in
            defer { state = State() }
            return state.feeds.values.flatMap { $0.subscribers.values.map(\.continuation) }
        }
        for continuation in all { continuation.finish() }
        wake.finish()
    }
}
