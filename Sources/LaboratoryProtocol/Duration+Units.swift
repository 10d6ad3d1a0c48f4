import Foundation

extension Duration {
    /// The duration in whole nanoseconds (rounded toward zero), clamped to `0...Int64.max`: what a
    /// timer or a timeout can use (a NIO `TimeAmount` is `.nanoseconds(d.clampedNanoseconds)`).
    /// Every conversion of a `Duration` to a count of some unit goes through this file, so none
    /// drops the fractional seconds (a 500 ms timeout once became 0 that way).
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

    /// The duration in whole seconds (rounded toward zero), clamped to `0...Int64.max`: for what
    /// takes whole seconds, such as the attack scripts' command-line arguments.
    package var wholeSeconds: Int64 {
        let seconds = components.seconds
        return seconds < 0 ? 0 : seconds
    }

    /// The duration in seconds, with its fraction: for rates and for showing it.
    package var fractionalSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// This duration as a retry delay in milliseconds: rounded up (a client that waits this long
    /// is never early), at least 1, at most what the reply's `u32` holds.
    package var retryMilliseconds: UInt32 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return UInt32(clamping: max(1, milliseconds))
    }

    /// The wall clock's time since 1970 (not a monotonic clock: only for what the protocol dates,
    /// such as a transport key's validity window, in ``wholeMilliseconds``).
    package static var sinceUnixEpoch: Duration { .seconds(Date().timeIntervalSince1970) }

    /// The duration as a log shows it: seconds with three decimals (`12.345s`), rounded toward
    /// zero; negative durations show as `0.000s`.
    package var logged: String {
        let milliseconds = wholeMilliseconds
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }

    /// The duration as a person reads it, rounded up to whole seconds: `45s`, `4m 30s`, `1h 2m 5s`
    /// (zero parts left out; at least `1s`). For a wait the reader is told, so it is never short.
    package var spoken: String {
        let milliseconds = wholeMilliseconds
        let seconds = max(1, milliseconds / 1000 + (milliseconds % 1000 == 0 ? 0 : 1))
        let parts = [(seconds / 3600, "h"), (seconds / 60 % 60, "m"), (seconds % 60, "s")]
        return parts.filter { $0.0 > 0 }.map { "\($0.0)\($0.1)" }.joined(separator: " ")
    }
}
