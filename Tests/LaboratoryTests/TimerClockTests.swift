import LaboratoryTransport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The continuous clock's timers, which production runs on: these wait on the real clock (a few
/// tens of milliseconds) because the real clock is what they test; every deadline test of the
/// server and client runs on the test clock instead.
@Suite("Continuous clock timers", .timeLimit(.minutes(1)))
struct TimerClockTests {
    let eventLoop = MultiThreadedEventLoopGroup.singleton.next()

    @Test("a timer runs its body on the event loop, never before the deadline by the clock")
    func runsAtDeadline() async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(30))
        let (early, onLoop) = await withCheckedContinuation { (done: CheckedContinuation<(Bool, Bool), Never>) in
            _ = clock.schedule(at: deadline, on: eventLoop) { [eventLoop] in
                done.resume(returning: (clock.now < deadline, eventLoop.inEventLoop))
            }
        }
        #expect(!early)
        #expect(onLoop)
    }

    @Test("a cancelled timer never runs")
    func cancelled() async {
        let clock = ContinuousClock()
        let ran = Atomic<Bool>(false)
        let timer = clock.schedule(at: clock.now.advanced(by: .milliseconds(10)), on: eventLoop) {
            ran.store(true, ordering: .relaxed)
        }
        timer.cancel()
        // A later timer on the same loop: once it has run, the first one's time is long past.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            _ = clock.schedule(at: clock.now.advanced(by: .milliseconds(50)), on: eventLoop) { done.resume() }
        }
        let didRun = ran.load(ordering: .relaxed)
        #expect(!didRun)
    }

    @Test("wrapped, a clock's instants count from the moment it was wrapped")
    func wrapped() {
        let clock = AnyTimerClock(ContinuousClock())
        let start = clock.now
        #expect(start.offset >= .zero && start.offset < .seconds(1))
        #expect(clock.now >= start)
    }
}

/// The per-loop queue behind the continuous clock's timers (``LoopTimerQueue``): its heap of
/// deadlines, cancellation anywhere in it, and its leaving once empty or once its loop has ended.
@Suite("Event loop timer queue", .timeLimit(.minutes(1)))
struct LoopTimerQueueTests {
    /// A loop of its own, so that no other test's timers are on it.
    private static func withLoop(_ body: (any EventLoop) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await body(group.next())
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    @Test("timers cancelled anywhere in the heap never run; the others run once each, in deadline order")
    func cancelAnywhere() async throws {
        try await Self.withLoop { loop in
            let clock = ContinuousClock()
            // Far enough ahead that the cancellations below are done before any deadline, even on a
            // loaded machine.
            let start = clock.now.advanced(by: .milliseconds(300))
            var generator = SystemRandomNumberGenerator()
            // Deadlines in shuffled order, some equal, over 60 ms.
            let offsets = (0..<300).map { _ in Int.random(in: 0..<60, using: &generator) }
            let fired = Mutex<[Int]>([])
            let timers = offsets.enumerated().map { index, offset in
                clock.schedule(at: start.advanced(by: .milliseconds(offset)), on: loop) {
                    #expect(loop.inEventLoop)
                    fired.withLock { $0.append(index) }
                }
            }
            let cancelled = Set((0..<300).filter { _ in Bool.random(using: &generator) })
            for index in cancelled.shuffled(using: &generator) { timers[index].cancel() }
            // Cancelling twice, or after the fact, is harmless.
            for index in cancelled.prefix(10) { timers[index].cancel() }
            #expect(LoopTimerQueue.pendingCount(on: loop) == 300 - cancelled.count)
            // A timer after all of them: once it has run, every other one has.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                _ = clock.schedule(at: start.advanced(by: .milliseconds(100)), on: loop) { done.resume() }
            }
            let order = fired.withLock { $0 }
            #expect(Set(order) == Set(0..<300).subtracting(cancelled))
            #expect(order.count == 300 - cancelled.count)
            let deadlines = order.map { offsets[$0] }
            #expect(deadlines == deadlines.sorted())
            for index in 0..<300 where !cancelled.contains(index) { timers[index].cancel() }
            #expect(LoopTimerQueue.pendingCount(on: loop) == 0)
        }
    }

    @Test("cancelling the earliest deadline leaves the later ones on time")
    func cancelEarliest() async throws {
        try await Self.withLoop { loop in
            let clock = ContinuousClock()
            let ranEarly = Atomic<Bool>(false)
            let early = clock.schedule(at: clock.now.advanced(by: .milliseconds(200)), on: loop) {
                ranEarly.store(true, ordering: .relaxed)
            }
            let deadline = clock.now.advanced(by: .milliseconds(300))
            early.cancel()
            let notEarly = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
                _ = clock.schedule(at: deadline, on: loop) { done.resume(returning: clock.now >= deadline) }
            }
            let didRunEarly = ranEarly.load(ordering: .relaxed)
            #expect(notEarly)
            #expect(!didRunEarly)
        }
    }

    @Test("a deadline already past runs on the loop (the caller is not on it), not on the caller's stack")
    func pastDeadline() async throws {
        try await Self.withLoop { loop in
            let clock = ContinuousClock()
            let onLoop = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
                _ = clock.schedule(at: clock.now.advanced(by: .milliseconds(-5)), on: loop) {
                    done.resume(returning: loop.inEventLoop)
                }
            }
            #expect(onLoop)
        }
    }

    @Test("the queue leaves once its timers have run or been cancelled and no callback is pending")
    func leavesWhenEmpty() async throws {
        try await Self.withLoop { loop in
            let clock = ContinuousClock()
            let cancelled = clock.schedule(at: clock.now.advanced(by: .milliseconds(300)), on: loop) {}
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                _ = clock.schedule(at: clock.now.advanced(by: .milliseconds(5)), on: loop) { done.resume() }
            }
            cancelled.cancel()
            // Nothing is waiting, but the callback armed for the cancelled timer is: the queue stays.
            #expect(LoopTimerQueue.pendingCount(on: loop) == 0)
            #expect(LoopTimerQueue.armedCallbackCount(on: loop) == 1)
            #expect(LoopTimerQueue.hasQueue(on: loop))
            // A timer after it: that callback runs and finds nothing due, one for this timer runs
            // it, and the queue, empty with nothing pending, leaves right after its body.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                _ = clock.schedule(at: clock.now.advanced(by: .milliseconds(400)), on: loop) { done.resume() }
            }
            try await loop.submit {}.get()
            #expect(!LoopTimerQueue.hasQueue(on: loop))
        }
    }

    @Test("a callback is armed only when none is pending at or before the deadline that needs it")
    func noRedundantCallbacks() async throws {
        try await Self.withLoop { loop in
            let clock = ContinuousClock()
            let start = clock.now
            // A far timer arms a callback; a nearer one arms another; cancelling the nearer one
            // leaves its callback to run and find nothing due.
            let far = clock.schedule(at: start.advanced(by: .seconds(60)), on: loop) {}
            let near = clock.schedule(at: start.advanced(by: .milliseconds(200)), on: loop) {}
            #expect(LoopTimerQueue.armedCallbackCount(on: loop) == 2)
            near.cancel()
            // Covered by the near timer's callback: arms none of its own.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                _ = clock.schedule(at: start.advanced(by: .milliseconds(400)), on: loop) { done.resume() }
                #expect(LoopTimerQueue.armedCallbackCount(on: loop) == 2)
            }
            // The near callback ran, armed one for 400 ms, which ran the body; the far timer's own
            // callback is still pending, so none was armed again for it.
            try await loop.submit {}.get()
            #expect(LoopTimerQueue.armedCallbackCount(on: loop) == 1)
            #expect(LoopTimerQueue.pendingCount(on: loop) == 1)
            far.cancel()
        }
    }

    @Test("when the loop shuts down, its pending timers are dropped with what they hold")
    func loopShutDown() async throws {
        final class Held: Sendable {}
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let clock = ContinuousClock()
        weak var weakHeld: Held?
        let ran = Atomic<Bool>(false)
        do {
            let held = Held()
            weakHeld = held
            _ = clock.schedule(at: clock.now.advanced(by: .seconds(3600)), on: loop) {
                withExtendedLifetime(held) { ran.store(true, ordering: .relaxed) }
            }
        }
        #expect(weakHeld != nil)
        try await group.shutdownGracefully()
        // The failed task's callback retires the queue (on the loop, as it shuts down).
        for _ in 0..<100 where LoopTimerQueue.hasQueue(on: loop) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!LoopTimerQueue.hasQueue(on: loop))
        let didRun = ran.load(ordering: .relaxed)
        #expect(weakHeld == nil)
        #expect(!didRun)
    }
}
