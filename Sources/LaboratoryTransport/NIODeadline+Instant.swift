import NIOCore

extension NIODeadline {
    /// The same moment as `instant` (both clocks are monotonic). Durations become `TimeAmount`s
    /// through NIO's own `TimeAmount(_: Duration)`, which clamps instead of dropping fractions.
    package init(_ instant: ContinuousClock.Instant) {
        self = .now() + TimeAmount(instant - .now)
    }
}
