import Dispatch
import Foundation

/// The `laboratory-server` executable, run as a real child process.
final class ServerProcess: @unchecked Sendable {
    // Safety: `process` is only mutated before `run()`; the output stream is thread-safe.
    let process = Process()
    let stateDirectory: String
    private(set) var lines: AsyncStream<String>.AsyncIterator
    private let stderrPipe = Pipe()

    /// The built executable: next to the test bundle, or in the package's default build folder.
    static var executableURL: URL {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("laboratory-server")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/laboratory-server")
    }

    init(arguments: [String], environment: [String: String] = [:], stateDirectory: String? = nil) throws {
        let state =
            stateDirectory
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("laboratory-test-\(UUID().uuidString)").path
        self.stateDirectory = state
        process.executableURL = Self.executableURL
        process.arguments = ["--port", "0", "--state-dir", state] + arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "LABORATORY_PASSWORD")
        env.merge(environment) { $1 }
        process.environment = env
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = stderrPipe
        let (stream, continuation) = AsyncStream<String>.makeStream()
        lines = stream.makeAsyncIterator()
        try process.run()
        let reader = stdout.fileHandleForReading
        DispatchQueue.global().async {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            continuation.finish()
        }
    }

    /// Reads stdout lines until one starts with `prefix`; returns the rest of that line.
    func value(after prefix: String) async -> String? {
        while let line = await lines.next() {
            if line.hasPrefix(prefix) { return String(line.dropFirst(prefix.count)) }
        }
        return nil
    }

    /// Waits for the process to exit and returns its status and everything it wrote to stderr.
    func waitForExit() async -> (status: Int32, stderr: String) {
        let process = self.process
        let pipe = stderrPipe
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let errors = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: errors, as: UTF8.self)))
            }
        }
    }

    func interrupt() { process.interrupt() }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}
