import Dispatch
import Foundation
import Synchronization

/// The `laboratory-server` executable, run as a real child process.
final class ServerProcess: @unchecked Sendable {
    // Safety: `process` is only mutated before `run()`; the output stream is thread-safe.
    let process = Process()
    let stateDirectory: String
    private(set) var lines: AsyncStream<String>.AsyncIterator
    private let stderrPipe = Pipe()
    /// Standard error, read as it comes so that a chatty server never blocks on a full pipe.
    private let errors = CollectedOutput()

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
        errors.collect(stderrPipe.fileHandleForReading)
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
        let errors = self.errors
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let text = errors.waitForEnd()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, text))
            }
        }
    }

    func interrupt() { process.interrupt() }

    /// The child's process id, for reading its memory from `/proc`.
    var pid: Int32 { process.processIdentifier }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

/// Reads a pipe to its end on a background thread, keeping what it read.
private final class CollectedOutput: Sendable {
    private let data = Mutex(Data())
    private let finished = DispatchSemaphore(value: 0)

    func collect(_ handle: FileHandle) {
        DispatchQueue.global().async { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.withLock { $0.append(chunk) }
            }
            finished.signal()
        }
    }

    /// Waits until the pipe is closed (the process exited) and returns everything read.
    func waitForEnd() -> String {
        finished.wait()
        finished.signal()
        return data.withLock { String(decoding: $0, as: UTF8.self) }
    }
}
