import LaboratoryProtocol

/// How a ``ReconnectingChatSession`` spaces its attempts to reconnect: exponential backoff with
/// full jitter (`Docs/PROTOCOL.md`, §17, *Reconnecting and resuming*).
///
/// Before attempt `k` (1 for the first after a loss) the wait is uniformly random in
/// `[0, min(maximumDelay, initialDelay × multiplier^(k−1))]`. The count starts again at 1 once a
/// connection has been accepted and its rooms resumed.
///
/// ```swift
/// var policy = ReconnectPolicy()          // 0.5 s, doubling, at most 30 s, never gives up
/// policy.maximumAttempts = 10             // give up after ten failed attempts in a row
/// ```
public struct ReconnectPolicy: Hashable, Sendable {
    /// The ceiling of the first wait. Default 0.5 seconds.
    public var initialDelay: Duration
    /// The largest ceiling: the backoff grows up to this and stays there. Default 30 seconds.
    public var maximumDelay: Duration
    /// How much the ceiling grows after each failed attempt, at least 1. Default 2.
    public var multiplier: Double
    /// How many attempts in a row may fail before giving up; `nil` (the default) tries forever,
    /// 0 never reconnects.
    public var maximumAttempts: Int?

    /// A policy; the defaults back off from 0.5 s to 30 s, doubling, and never give up.
    public init(
        initialDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(30), multiplier: Double = 2,
        maximumAttempts: Int? = nil
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.maximumAttempts = maximumAttempts
    }

    /// Never reconnect: the first loss ends the session, as a plain ``ClientSession`` does.
    public static let never = ReconnectPolicy(maximumAttempts: 0)

    /// The most the wait before attempt `attempt` (1 for the first) can be:
    /// `min(maximumDelay, initialDelay × multiplier^(attempt−1))`, never negative.
    public func ceiling(beforeAttempt attempt: Int) -> Duration {
        let initial = max(0, initialDelay.fractionalSeconds)
        let maximum = max(0, maximumDelay.fractionalSeconds)
        let growth = max(1, multiplier.isFinite ? multiplier : 1)
        // Past the point where the ceiling reaches the maximum, stop multiplying (no overflow).
        var ceiling = initial
        var step = 1
        while step < attempt, ceiling < maximum {
            ceiling *= growth
            step += 1
        }
        return Self.rounded(min(ceiling, maximum))
    }

    /// `seconds` as a duration rounded to whole nanoseconds (so 0.1 × 3 × 3 is 0.9 s).
    private static func rounded(_ seconds: Double) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The wait before attempt `attempt` with full jitter: `random` (in `[0, 1)`, drawn by the
    /// caller) times ``ceiling(beforeAttempt:)``.
    public func delay(beforeAttempt attempt: Int, random: Double) -> Duration {
        let fraction = random.isFinite ? min(max(random, 0), 1) : 0
        return Self.rounded(ceiling(beforeAttempt: attempt).fractionalSeconds * fraction)
    }
}
