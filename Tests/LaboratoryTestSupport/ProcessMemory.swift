import Foundation
import Testing

/// Resident memory of a process, from `/proc/<pid>/status`.
package struct ProcessMemory: CustomStringConvertible {
    /// Resident set size now, in bytes.
    package let resident: Int
    /// The largest resident set size the process has had (VmHWM), in bytes.
    package let peak: Int

    package init(pid: Int32) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ field: String) throws -> Int {
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
            let number = try #require(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first)
            return try #require(Int(number)) * 1024
        }
        resident = try kilobytes("VmRSS")
        peak = try kilobytes("VmHWM")
    }

    /// This process.
    package static func current() throws -> ProcessMemory { try ProcessMemory(pid: getpid()) }

    package var description: String { "RSS \(Self.mebibytes(resident)), peak \(Self.mebibytes(peak))" }

    /// Requires `after` (its peak, or with `measure: \.resident` its resident set now, for this
    /// process, whose peak may predate the test) to exceed `before`'s resident set by less than
    /// `bound` bytes. Not asserted under a sanitizer, whose shadow memory and quarantine of freed
    /// blocks make resident memory no measure of what the code keeps.
    package static func expectGrowth(
        from before: ProcessMemory, to after: ProcessMemory, below bound: Int,
        measure: KeyPath<ProcessMemory, Int> = \.peak, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard !Sanitizer.isActive else { return }
        #expect(
            after[keyPath: measure] - before.resident < bound,
            "memory grew from \(before) to \(after), more than \(mebibytes(bound))", sourceLocation: sourceLocation)
    }

    package static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
