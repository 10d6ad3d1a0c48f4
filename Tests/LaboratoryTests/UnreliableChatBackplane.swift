import Laboratory
import LaboratoryProtocol
import NIOConcurrencyHelpers

/// The failure injection for the shared-chat tests: an ``InMemoryChatBackplane`` whose calls can be
/// made to fail (a store that is down), and whose subscriptions can drop notifications and end
/// early (a listener that lost its connection). What it wraps is real; only the faults are added.
final class UnreliableChatBackplane: ChatBackplane {
    struct Down: Error, CustomStringConvertible {
        var description: String { "the test store is down" }
    }

    private struct State {
        var down = false
        /// Every live subscription's forwarder, so an outage can end them.
        var forwarders: [Int: AsyncStream<ChatBackplaneEntry>.Continuation] = [:]
        var nextForwarder = 0
        /// Notifications dropped so far (each subscription drops every `dropEvery`-th).
        var dropped = 0
        var ended = 0
    }

    let inner: InMemoryChatBackplane
    /// Every subscription leaves out each `dropEvery`-th event (0: none).
    private let dropEvery: Int
    /// Every subscription ends after delivering this many events (0: never).
    private let endAfter: Int
    private let state = NIOLockedValueBox(State())

    init(_ inner: InMemoryChatBackplane, dropEvery: Int = 0, endAfter: Int = 0) {
        self.inner = inner
        self.dropEvery = dropEvery
        self.endAfter = endAfter
    }

    /// Makes every call fail, and ends every subscription, until ``recover()``.
    func fail() {
        let forwarders = state.withLockedValue { state in
            state.down = true
            defer { state.forwarders = [:] }
            return Array(state.forwarders.values)
        }
        for forwarder in forwarders { forwarder.finish() }
    }

    func recover() { state.withLockedValue { $0.down = false } }

    /// Notifications dropped and subscriptions ended early so far.
    var faults: (dropped: Int, ended: Int) { state.withLockedValue { ($0.dropped, $0.ended) } }

    private func check() throws {
        if state.withLockedValue({ $0.down }) { throw Down() }
    }

    func append(_ event: ChatEvent, to room: String) async throws -> ChatBackplaneEntry {
        try check()
        return try await inner.append(event, to: room)
    }

    func history(of room: String, after sequence: UInt64) async throws -> ChatHistory {
        try check()
        return try await inner.history(of: room, after: sequence)
    }

    func subscribe(to room: String) async throws -> ChatSubscription {
        try check()
        let source = try await inner.subscribe(to: room)
        let (events, continuation) = AsyncStream.makeStream(of: ChatBackplaneEntry.self)
        let id = state.withLockedValue { state in
            defer { state.nextForwarder += 1 }
            state.forwarders[state.nextForwarder] = continuation
            return state.nextForwarder
        }
        let (dropEvery, endAfter) = (self.dropEvery, self.endAfter)
        let forwarding = Task { [state] in
            var count = 0
            for await entry in source.events {
                count += 1
                if dropEvery > 0, count % dropEvery == 0 {
                    state.withLockedValue { $0.dropped += 1 }
                    continue
                }
                guard case .enqueued = continuation.yield(entry) else { break }
                if endAfter > 0, count >= endAfter {
                    state.withLockedValue { $0.ended += 1 }
                    break
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { [state] _ in
            forwarding.cancel()
            source.cancel()
            _ = state.withLockedValue { $0.forwarders.removeValue(forKey: id) }
        }
        return ChatSubscription(events: events) { continuation.finish() }
    }

    func join(_ member: UInt64, name: String, room: String) async throws {
        try check()
        try await inner.join(member, name: name, room: room)
    }

    func leave(_ member: UInt64, room: String) async throws -> Bool {
        try check()
        return try await inner.leave(member, room: room)
    }

    func members(of room: String) async throws -> [ChatMember] {
        try check()
        return try await inner.members(of: room)
    }

    func rooms(after: String?, limit: Int) async throws -> (rooms: [ChatRoomSummary], next: String?) {
        try check()
        return try await inner.rooms(after: after, limit: limit)
    }
}
