import Foundation

/// The result of an external command.
struct ToolResult {
    var status: Int32
    var standardOutput: [UInt8]
    var standardError: String

    var text: String { String(decoding: standardOutput, as: UTF8.self) }
}

/// Runs `arguments` through `/usr/bin/env` (so `openssl` is found on `PATH`) with no standard input.
func runTool(_ arguments: [String]) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Outputs here are a few kilobytes at most, well under a pipe buffer, so reading one pipe to its
    // end before the other cannot deadlock.
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolResult(
        status: process.terminationStatus, standardOutput: Array(out),
        standardError: String(decoding: err, as: UTF8.self))
}

/// Runs a tool and returns its output; throws ``ToolFailure`` (with its stderr) when it fails.
func runToolChecked(_ arguments: [String]) throws -> ToolResult {
    let result = try runTool(arguments)
    guard result.status == 0 else {
        throw ToolFailure(
            command: arguments.joined(separator: " "), status: result.status, stderr: result.standardError)
    }
    return result
}

struct ToolFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var stderr: String
    var description: String { "`\(command)` exited with \(status): \(stderr)" }
}

/// A fresh temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "laboratory-crypto-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
