import NIOCore

/// Any ``TimerClock`` behind one concrete type: what the server's and the client's configurations
/// hold (``continuous`` unless a test injects its own clock), so that neither the server nor the
/// client is generic over its clock. Its instants are the time since the clock was wrapped.
package struct AnyTimerClock: TimerClock {
    /// A moment of the wrapped clock, as the time since it was wrapped.
    package struct Instant: InstantProtocol, CustomStringConvertible {
        /// Time since the clock was wrapped.
        package var offset: Duration

        package init(offset: Duration) { self.offset = offset }
        package func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        package var description: String { "t+\(offset)" }
    }

    private let base: any WrappedClock

    /// Wraps `clock`; its current time becomes this clock's zero.
    package init<C: TimerClock>(_ clock: C) {
        base = Wrapped(clock)
    }

    /// The continuous clock, the default everywhere, wrapped once: instants of one wrapping compare
    /// only with each other.
    package static let continuous = AnyTimerClock(ContinuousClock())

    package var now: Instant { Instant(offset: base.elapsed) }

    package var minimumResolution: Duration { base.minimumResolution }

    package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await base.sleep(until: deadline.offset, tolerance: tolerance)
    }

    package func schedule(
        at deadline: Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void
    ) -> ScheduledTimer {
        base.schedule(at: deadline.offset, on: eventLoop, body)
    }
}

/// A clock seen through offsets from the moment it was wrapped.
private protocol WrappedClock: Sendable {
    var elapsed: Duration { get }
    var minimumResolution: Duration { get }
    func sleep(until offset: Duration, tolerance: Duration?) async throws
    func schedule(at offset: Duration, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void)
        -> ScheduledTimer
}

private struct Wrapped<C: TimerClock>: WrappedClock {
    let clock: C
    let origin: C.Instant

    init(_ clock: C) {
        self.clock = clock
        self.origin = clock.now
    }

    var elapsed: Duration { origin.duration(to: clock.now) }
    var minimumResolution: Duration { clock.minimumResolution }

    func sleep(until offset: Duration, tolerance: Duration?) async throws {
        try await clock.sleep(until: origin.advanced(by: offset), tolerance: tolerance)
    }

    func schedule(at offset: Duration, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void)
        -> ScheduledTimer
    {
        clock.schedule(at: origin.advanced(by: offset), on: eventLoop, body)
    }
}
