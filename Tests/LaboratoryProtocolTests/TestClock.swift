import NIOConcurrencyHelpers

/// A clock that only moves when a test calls ``advance(by:)``.
final class TestClock: Clock, Sendable {
    typealias Duration = Swift.Duration

    struct Instant: InstantProtocol, CustomStringConvertible {
        /// Time since the clock was created.
        var offset: Swift.Duration

        func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        var description: String { "t+\(offset)" }
    }

    private let current = NIOLockedValueBox(Instant(offset: .zero))

    init() {}

    var now: Instant { current.withLockedValue { $0 } }

    var minimumResolution: Swift.Duration { .nanoseconds(1) }

    /// Moves the clock forward.
    func advance(by duration: Swift.Duration) {
        precondition(duration >= .zero, "a clock does not go backwards")
        current.withLockedValue { $0 = $0.advanced(by: duration) }
    }

    /// Suspends until a test has advanced the clock to `deadline`, polling in real time.
    func sleep(until deadline: Instant, tolerance: Swift.Duration?) async throws {
        while now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
