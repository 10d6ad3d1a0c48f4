import Laboratory
import Synchronization
import Testing

/// A chat store runs once: its run leaves the store at the end, and what runs it (postgres-nio's
/// client, for `connectPostgres`) must not run twice.
@Suite("Chat store run", .timeLimit(.minutes(1)))
struct ChatStoreRunTests {
    /// A store whose run counts itself, says when it has started, and lasts until `stop` is
    /// finished.
    static func countingStore() -> (
        store: ChatStore, runs: Counter, started: AsyncStream<Void>, stop: AsyncStream<Void>.Continuation
    ) {
        let runs = Counter()
        let (started, start) = AsyncStream<Void>.makeStream()
        let (stopping, stop) = AsyncStream<Void>.makeStream()
        let store = ChatStore(node: 1, backplane: InMemoryChatBackplane()) { beforeLeaving in
            runs.increment()
            start.yield()
            for await _ in stopping {}
            await beforeLeaving()
        }
        return (store, runs, started, stop)
    }

    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    @Test("a second run while the first runs throws at once and starts nothing")
    func secondRunWhileRunning() async throws {
        let (store, runs, started, stop) = Self.countingStore()
        let first = Task { try await store.run() }
        for await _ in started { break }
        let copy = store
        await #expect(throws: ChatStoreRunError.self) { try await copy.run() }
        #expect(runs.value == 1)
        // The first run is untouched: it still stops its background work and returns on its own.
        #expect(store.background.start {})
        stop.finish()
        try await first.value
        #expect(!store.background.start {})
    }

    @Test("a run after the store's run returned throws at once")
    func runAfterReturn() async throws {
        let (store, runs, _, stop) = Self.countingStore()
        stop.finish()
        try await store.run()
        #expect(runs.value == 1)
        let error = await #expect(throws: ChatStoreRunError.self) { try await store.run() }
        #expect(runs.value == 1)
        #expect(error?.description.contains("already been run") == true)
    }
}
