import LaboratoryTestSupport
import Synchronization
import Testing

/// The one test clock every deadline test runs on: it must wake sleepers exactly when advanced to
/// their deadline, never on its own, and let a cancelled sleeper go.
@Suite("Test clock", .timeLimit(.minutes(1)))
struct TestClockTests {
    @Test("a sleeper wakes when the clock is advanced to its deadline, not before")
    func sleeperWakes() async throws {
        let clock = TestClock()
        let woke = Atomic<Bool>(false)
        let sleeper = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(10)))
            woke.store(true, ordering: .relaxed)
        }
        await clock.waitForPending(count: 1)
        clock.advance(by: .seconds(10) - .nanoseconds(1))
        let wokeEarly = woke.load(ordering: .relaxed)
        #expect(!wokeEarly)
        #expect(clock.pendingCount == 1)
        clock.advance(by: .nanoseconds(1))
        try await sleeper.value
        let wokeAfter = woke.load(ordering: .relaxed)
        #expect(wokeAfter)
        #expect(clock.pendingCount == 0)
    }

    @Test("wake-ups run in deadline order; one already due runs at once; a cancelled one never")
    func wakeupOrder() {
        let clock = TestClock()
        let order = Mutex<[Int]>([])
        clock.whenReaching(clock.now.advanced(by: .seconds(3))) { order.withLock { $0.append(3) } }
        clock.whenReaching(clock.now.advanced(by: .seconds(1))) { order.withLock { $0.append(1) } }
        let dropped = clock.whenReaching(clock.now.advanced(by: .seconds(2))) { order.withLock { $0.append(2) } }
        #expect(clock.cancel(dropped))
        clock.advance(by: .seconds(5))
        clock.whenReaching(clock.now) { order.withLock { $0.append(0) } }
        #expect(order.withLock { $0 } == [1, 3, 0])
    }

    @Test("every registration at an instant is counted, also one that replaces an earlier one")
    func armedCount() async {
        let clock = TestClock()
        let deadline = clock.now.advanced(by: .seconds(1))
        #expect(clock.armedCount(at: deadline) == 0)
        let first = clock.whenReaching(deadline) {}
        clock.cancel(first)
        clock.whenReaching(deadline) {}
        await clock.waitForArmed(count: 2, at: deadline)
        #expect(clock.armedCount(at: deadline) == 2)
        #expect(clock.pendingCount == 1)
    }

    @Test("cancelling a sleeping task ends its sleep with CancellationError")
    func cancellation() async {
        let clock = TestClock()
        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(60))) }
        await clock.waitForPending(count: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.pendingCount == 0)
    }

    @Test("a task cancelled before it sleeps does not sleep")
    func cancelledFirst() async {
        let clock = TestClock()
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
        }
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.pendingCount == 0)
    }
}
