import ArgumentParser

/// The ranges the numeric options are checked against before anything starts, so that a value
/// out of range is a usage error naming the option rather than a wrapped port or a crash.
enum OptionRange {
    /// The largest `--max-frame-size`: 64 MiB.
    static let maximumFrameSize = 64 << 20
    /// The largest connection count any limit takes.
    static let maximumCount = 1_000_000
    /// The longest time in seconds any timeout takes: one day.
    static let maximumSeconds = 86_400.0

    /// Throws a usage error unless `range` contains `value`.
    static func check(_ value: Int, _ range: ClosedRange<Int>, _ option: String) throws {
        guard range.contains(value) else {
            throw ValidationError(
                "\(option) must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
    }

    /// Throws a usage error unless `value` is a number of seconds up to a day, above 0 when
    /// `positive`, else from 0 (which turns the timer off).
    static func check(seconds value: Double, positive: Bool, _ option: String) throws {
        let valid = value.isFinite && value <= maximumSeconds && (positive ? value > 0 : value >= 0)
        guard valid else {
            let lower = positive ? "more than 0" : "from 0"
            throw ValidationError(
                "\(option) must be \(lower) up to \(Int(maximumSeconds)) seconds, not \(value)")
        }
    }
}
