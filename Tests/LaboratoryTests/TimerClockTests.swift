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
