import DequeModule
import Foundation
import LaboratoryProtocol
import NIOConcurrencyHelpers
import OrderedCollections

/// The default ``ChatBackplane``: one process, nothing durable. Each room's log is a
/// ``RoomLog`` that the room's actor calls synchronously (a lock nobody else contends for), so
/// the chat service pays what it paid before the backplane existed; the asynchronous
/// ``ChatBackplane`` calls do the same work without suspending.
///
/// A room the chat directory forgets (it was empty and its slot was needed) leaves its last
/// number behind, so a room recreated under the same name continues its numbering and a client
/// resuming with an old number is never shown a new room's messages as already seen. Those
/// records are bounded: at most `forgottenRoomLimit` of them, the oldest dropped first; a dropped
/// record raises a floor that every room without a record starts above. So numbers never go
/// back, for any room, in bounded memory; a room recreated after its record was dropped skips
/// ahead instead of continuing exactly (and, once any record has been dropped, a brand-new room
/// starts above the floor rather than at 1).
package final class InMemoryChatBackplane: ChatBackplane {
    private struct Rooms {
        var open: [String: RoomLog] = [:]
        /// Forgotten rooms' last numbers, the one forgotten longest ago first.
        var forgotten: OrderedDictionary<String, UInt64> = [:]
        /// The highest number among dropped records: rooms without a record start above it.
        var floor: UInt64 = 0
    }

    private let rooms = NIOLockedValueBox(Rooms())
    private let historySize: Int
    private let forgottenRoomLimit: Int

    /// A backplane whose rooms keep their last `historySize` events, remembering the last number
    /// of up to `forgottenRoomLimit` forgotten rooms.
    package init(historySize: Int = ChatLimits().historySize, forgottenRoomLimit: Int = ChatLimits().maximumRooms) {
        self.historySize = historySize
        self.forgottenRoomLimit = forgottenRoomLimit
    }

    /// The log of room `name`, created (continuing a forgotten room's numbering) if needed.
    package func room(_ name: String) -> RoomLog {
        rooms.withLockedValue { rooms in
            if let room = rooms.open[name] { return room }
            let latest = rooms.forgotten.removeValue(forKey: name) ?? rooms.floor
            let room = RoomLog(name: name, latest: latest, historySize: historySize)
            rooms.open[name] = room
            return room
        }
    }

    /// Drops room `name`'s log (its history, subscriptions and presence), keeping its last number.
    package func forget(_ name: String) {
        let room = rooms.withLockedValue { rooms -> RoomLog? in
            guard let room = rooms.open.removeValue(forKey: name) else { return nil }
            rooms.forgotten[name] = room.latest
            if rooms.forgotten.count > forgottenRoomLimit {
                rooms.floor = max(rooms.floor, rooms.forgotten.removeFirst().value)
            }
            return room
        }
        room?.close()
    }

    /// How many undelivered events a subscription holds before it ends.
    package static let subscriptionBuffer = 1000

    /// Records of forgotten rooms' last numbers now kept (at most `forgottenRoomLimit`).
    package var forgottenRooms: Int { rooms.withLockedValue { $0.forgotten.count } }

    package func append(_ event: ChatEvent, to room: String) async throws -> ChatBackplaneEntry {
        self.room(room).append(event)
    }

    package func history(of room: String, after sequence: UInt64) async throws -> ChatHistory {
        let found = rooms.withLockedValue { rooms in
            (rooms.open[room], rooms.forgotten[room] ?? rooms.floor)
        }
        guard let log = found.0 else { return ChatHistory(entries: [], oldest: found.1 + 1, latest: found.1) }
        return log.history(after: sequence)
    }

    package func subscribe(to room: String) async throws -> ChatSubscription {
        self.room(room).subscribe()
    }

    package func join(_ member: UInt64, name: String, room: String) async throws {
        self.room(room).join(member, name: name)
    }

    @discardableResult
    package func leave(_ member: UInt64, room: String) async throws -> Bool {
        rooms.withLockedValue { $0.open[room] }?.leave(member) ?? false
    }

    package func members(of room: String) async throws -> [ChatMember] {
        rooms.withLockedValue { $0.open[room] }?.members() ?? []
    }

    /// Lists every room it holds, empty ones included, until they are forgotten. Sorts the names
    /// after `after` for each page: for tests and a few servers in one process, not the fast
    /// path (which lists from the chat directory).
    package func rooms(after: String?, limit: Int) async throws -> (rooms: [ChatRoomSummary], next: String?) {
        let open = rooms.withLockedValue { rooms in
            after.map { after in rooms.open.filter { $0.key > after } } ?? rooms.open
        }
        let names = open.keys.sorted()
        let page = names.prefix(limit).map { ChatRoomSummary(name: $0, members: open[$0]!.memberCount) }
        return (page, names.count > limit ? page.last?.name : nil)
    }
}

extension InMemoryChatBackplane {
    /// One room's numbering, history, subscribers and presence, behind one lock. Every call is
    /// synchronous: a room's actor calls it without suspending, so its events are numbered,
    /// stored and delivered in the order the actor makes them.
    package final class RoomLog: Sendable {
        private struct State {
            var latest: UInt64
            var history: Deque<ChatBackplaneEntry> = []
            var subscribers: [UInt64: AsyncStream<ChatBackplaneEntry>.Continuation] = [:]
            var nextSubscriber: UInt64 = 0
            var members: [UInt64: String] = [:]
        }

        package let name: String
        private let historySize: Int
        private let state: NIOLockedValueBox<State>
        private static let encoder = JSONEncoder()

        fileprivate init(name: String, latest: UInt64, historySize: Int) {
            self.name = name
            self.historySize = historySize
            self.state = NIOLockedValueBox(State(latest: latest))
        }

        /// The number of the room's latest event (0 before its first).
        package var latest: UInt64 { state.withLockedValue { $0.latest } }

        /// Numbers `event` as the room's next, encodes it, keeps it and delivers it to subscribers.
        package func append(_ event: ChatEvent) -> ChatBackplaneEntry {
            // Subscriptions that fell too far behind, ended outside the lock (ending one takes it).
            var lagging: [AsyncStream<ChatBackplaneEntry>.Continuation] = []
            let entry = state.withLockedValue { state in
                state.latest += 1
                var event = event
                event.room = name
                event.sequence = state.latest
                // Encoding a value of our own type cannot fail.
                let entry = ChatBackplaneEntry(sequence: state.latest, body: Array(try! Self.encoder.encode(event)))
                state.history.append(entry)
                if state.history.count > historySize { state.history.removeFirst(state.history.count - historySize) }
                for (id, subscriber) in state.subscribers {
                    if case .dropped = subscriber.yield(entry) {
                        state.subscribers[id] = nil
                        lagging.append(subscriber)
                    }
                }
                return entry
            }
            for subscriber in lagging { subscriber.finish() }
            return entry
        }

        /// The kept events numbered above `sequence`, with the latest and oldest kept numbers.
        package func history(after sequence: UInt64) -> ChatHistory {
            state.withLockedValue { state in
                // Kept events are consecutive: skip straight to the first one above `sequence`.
                let oldest = state.history.first?.sequence ?? state.latest + 1
                let skip = sequence < oldest ? 0 : Int(min(sequence - oldest + 1, UInt64(state.history.count)))
                return ChatHistory(entries: Array(state.history.dropFirst(skip)), oldest: oldest, latest: state.latest)
            }
        }

        /// Delivers the events appended from now on. A subscriber that leaves more than
        /// ``subscriptionBuffer`` events undelivered gets those, then the end of the stream (see
        /// `ChatBackplane.subscribe(to:)`).
        package func subscribe() -> ChatSubscription {
            let (events, continuation) = AsyncStream.makeStream(
                of: ChatBackplaneEntry.self, bufferingPolicy: .bufferingOldest(InMemoryChatBackplane.subscriptionBuffer)
            )
            let id = state.withLockedValue { state in
                defer { state.nextSubscriber += 1 }
                state.subscribers[state.nextSubscriber] = continuation
                return state.nextSubscriber
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
            }
            return ChatSubscription(events: events) { continuation.finish() }
        }

        /// Records `member` as in the room under `name`.
        package func join(_ member: UInt64, name: String) {
            state.withLockedValue { $0.members[member] = name }
        }

        /// Records that `member` left; returns whether it was in the room.
        @discardableResult
        package func leave(_ member: UInt64) -> Bool {
            state.withLockedValue { $0.members.removeValue(forKey: member) != nil }
        }

        /// How many members the room has.
        package var memberCount: Int { state.withLockedValue { $0.members.count } }

        /// The members, in ascending id order.
        package func members() -> [ChatMember] {
            state.withLockedValue { state in
                state.members.sorted { $0.key < $1.key }.map { ChatMember(id: $0.key, name: $0.value) }
            }
        }

        /// Ends every subscription (the room is forgotten).
        fileprivate func close() {
            let subscribers = state.withLockedValue { state in
                defer { state.subscribers = [:] }
                return Array(state.subscribers.values)
            }
            for subscriber in subscribers { subscriber.finish() }
        }
    }
}
