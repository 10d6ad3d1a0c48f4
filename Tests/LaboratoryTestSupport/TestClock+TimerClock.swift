import LaboratoryTransport
import NIOCore

extension TestClock: TimerClock {
    /// Runs `body` on `eventLoop` when a test advances the clock to `deadline`, as the continuous
    /// clock runs it on the event loop's timer.
    package func schedule(
        at deadline: Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void
    ) -> ScheduledTimer {
        let id = whenReaching(deadline) { eventLoop.execute(body) }
        return ScheduledTimer { [self] in cancel(id) }
    }
}
