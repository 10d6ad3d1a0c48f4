import LaboratoryProtocol
import NIOCore

/// A clock the server and the client keep every deadline and timer on: the handshake's step
/// deadlines, keepalive and the idle timeout, the shutdown grace period, the close timeout, the
/// client's handshake timeout; the server's background loops and the client's retries sleep on it.
/// `ContinuousClock` in production; tests inject a clock they move by hand, so that a deadline test
/// advances the clock instead of sleeping. Any `Clock` can be one: besides its time and `sleep`, it
/// says how to run a body at an instant.
///
/// A timer runs its body on an event loop, never on the caller's stack, so code that arms a timer
/// and code that runs when it fires see the same threading whichever clock is in use.
package protocol TimerClock: Clock, Sendable where Duration == Swift.Duration {
    /// Runs `body` on `eventLoop` once this clock has reached `deadline` (at once if it has),
    /// unless the returned timer is cancelled first.
    func schedule(at deadline: Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void)
        -> ScheduledTimer
}

extension ContinuousClock: TimerClock {
    /// On the event loop's own timer, through the loop's ``LoopTimerQueue``: a pending deadline
    /// costs no suspended task, and cancelling one costs O(log n) in the loop's timers (NIO's own
    /// cancellation searches them all). The event loop keeps its own monotonic time: a timer whose
    /// task runs before this clock has reached the deadline waits for another, so the body never
    /// runs early by this clock.
    package func schedule(
        at deadline: Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void
    ) -> ScheduledTimer {
        LoopTimerQueue.schedule(at: deadline, on: eventLoop, body)
    }
}

/// A timer armed with ``TimerClock/schedule(at:on:_:)``.
package struct ScheduledTimer: Sendable {
    private let cancellation: @Sendable () -> Void

    /// Wraps what cancels the timer.
    package init(cancel: @escaping @Sendable () -> Void) {
        self.cancellation = cancel
    }

    /// Stops the timer if it has not fired yet; harmless afterwards.
    package func cancel() {
        cancellation()
    }
}
