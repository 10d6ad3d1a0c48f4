import LaboratoryProtocol

/// How often one session may make a kind of request: a token bucket that holds up to `burst`
/// requests and refills at `perSecond`. A request that finds the bucket empty is not served; it is
/// answered at once with status `rejected` and the time after which it would be served.
public struct RequestRate: Sendable, Hashable {
    /// Requests a second, on average, over a long run.
    public var perSecond: Double
    /// Requests that may come at once after a quiet spell.
    public var burst: Int

    /// A rate of `perSecond` requests a second with bursts of up to `burst`.
    public init(perSecond: Double, burst: Int) {
        precondition(perSecond > 0 && burst >= 1, "a request rate needs a positive rate and a burst of at least 1")
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// One session's budget for one kind of request, as a token bucket. A plain value with the clock's
/// reading passed in, so its arithmetic is tested without waiting.
package struct TokenBucket: Sendable {
    package let rate: RequestRate
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    /// A full bucket.
    package init(_ rate: RequestRate, now: ContinuousClock.Instant) {
        self.rate = rate
        self.tokens = Double(rate.burst)
        self.updated = now
    }

    /// Takes `cost` tokens if there are that many and returns `nil`; otherwise takes nothing and
    /// returns how long until there are. A cost above the burst counts as the burst (it could
    /// never be paid otherwise).
    package mutating func take(_ cost: Int = 1, at now: ContinuousClock.Instant) -> Duration? {
        let cost = Double(min(max(cost, 1), rate.burst))
        let elapsed = now - updated
        if elapsed > .zero {
            tokens = min(Double(rate.burst), tokens + elapsed.fractionalSeconds * rate.perSecond)
            updated = now
        }
        if tokens >= cost {
            tokens -= cost
            return nil
        }
        return .seconds((cost - tokens) / rate.perSecond)
    }
}
