extension Duration {
    /// The duration in whole nanoseconds (rounded toward zero), clamped to `0...Int64.max`: what a
    /// timer or a timeout can use. Every conversion of a `Duration` to a count of some unit goes
    /// through this or ``wholeMilliseconds``, so none drops the fractional seconds.
    package var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAgain ? .max : total
    }

    /// The duration in whole milliseconds (rounded toward zero), clamped to `0...UInt64.max`: the
    /// unit of the protocol's times (`grace_ms`, certificate validity).
    package var wholeMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1000)
        if overflow { return .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000_000_000))
        return overflowAgain ? .max : total
    }
}
