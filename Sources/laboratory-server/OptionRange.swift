import ArgumentParser

/// The ranges the numeric settings are checked against before anything starts, so that a value
/// out of range is a usage error naming the option (or the key and its source) rather than a
/// wrapped port or a crash.
enum OptionRange {
    /// The largest `--max-frame-size`: 64 MiB.
    static let maximumFrameSize = 64 << 20
    /// The largest connection count any limit takes.
    static let maximumCount = 1_000_000
    /// The longest time in seconds any timeout takes: one day.
    static let maximumSeconds = 86_400.0

    /// Throws a usage error unless `range` contains `value`.
    static func check(_ value: Int, _ range: ClosedRange<Int>, _ option: String) throws {
        if let problem = problem(value, range, option) { throw ValidationError(problem) }
    }

    /// Throws a usage error unless `value` is a number of seconds up to a day, above 0 when
    /// `positive`, else from 0 (which turns the timer off).
    static func check(seconds value: Double, positive: Bool, _ option: String) throws {
        if let problem = problem(seconds: value, positive: positive, option) { throw ValidationError(problem) }
    }

    /// What is wrong with `value` for `subject` (`--port`, `port in FILE`), if anything.
    static func problem(_ value: Int, _ range: ClosedRange<Int>, _ subject: String) -> String? {
        guard !range.contains(value) else { return nil }
        return "\(subject) must be from \(range.lowerBound) to \(range.upperBound), not \(value)"
    }

    /// What is wrong with `value` as a number of seconds for `subject`, if anything.
    static func problem(seconds value: Double, positive: Bool, _ subject: String) -> String? {
        let valid = value.isFinite && value <= maximumSeconds && (positive ? value > 0 : value >= 0)
        guard !valid else { return nil }
        let lower = positive ? "more than 0" : "from 0"
        return "\(subject) must be \(lower) up to \(Int(maximumSeconds)) seconds, not \(value)"
    }
}
