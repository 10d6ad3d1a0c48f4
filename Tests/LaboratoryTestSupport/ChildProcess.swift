import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// A real child process whose standard output is read line by line.
package final class ChildProcess: @unchecked Sendable {
    // Safety: `process` is only configured before `run()`; `lines` is used by one test task.
    package let process = Process()
    private var lines: AsyncStream<String>.AsyncIterator
    private let stderrPipe = Pipe()
    /// Standard error, read as it comes so that a chatty child never blocks on a full pipe.
    private let errors = CollectedOutput()

    package init(
        executable: URL, arguments: [String], environment: [String: String] = [:], removing: [String] = [],
        directory: URL? = nil
    ) throws {
        process.executableURL = executable
        if let directory { process.currentDirectoryURL = directory }
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for name in removing { env.removeValue(forKey: name) }
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

    /// `python3` running `script`, a path relative to the folder of the test file that calls this.
    package static func python(_ script: String, _ arguments: [String], caller: StaticString = #filePath) throws
        -> ChildProcess
    {
        let path = URL(fileURLWithPath: "\(caller)").deletingLastPathComponent().appendingPathComponent(script).path
        return try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/env"), arguments: ["python3", path] + arguments)
    }

    /// The next line of standard output, or `nil` at its end.
    package func nextLine() async -> String? { await lines.next() }

    /// Reads lines until one starts with `prefix`; returns the rest of that line.
    package func value(after prefix: String) async -> String? {
        while let line = await lines.next() {
            if line.hasPrefix(prefix) { return String(line.dropFirst(prefix.count)) }
        }
        return nil
    }

    /// Reads the remaining output lines.
    package func remainingLines() async -> [String] {
        var all: [String] = []
        while let line = await lines.next() { all.append(line) }
        return all
    }

    /// Waits for the process to exit; returns its status and everything it wrote to stderr.
    package func waitForExit() async -> (status: Int32, stderr: String) {
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

    package func interrupt() { process.interrupt() }

    /// Waits until standard error holds `text` at least `count` times; `false` if the process
    /// closes standard error (exits) first.
    package func standardError(containing text: String, count: Int = 1) async -> Bool {
        await errors.wait(for: text, count: count)
    }

    /// Standard error so far.
    package var standardErrorSoFar: String { errors.text }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Reads a pipe to its end on a background thread, keeping what it read.
private final class CollectedOutput: Sendable {
    private struct State {
        var data = Data()
        var ended = false
        var waiters: [(id: UUID, text: String, count: Int, continuation: CheckedContinuation<Bool, Never>)] = []

        var text: String { String(decoding: data, as: UTF8.self) }

        /// Resumes the waiters whose text is there now (all of them, with `false`, at the end).
        mutating func resumeSatisfied() {
            let text = self.text
            waiters.removeAll { waiter in
                let found = text.components(separatedBy: waiter.text).count - 1 >= waiter.count
                guard found || ended else { return false }
                waiter.continuation.resume(returning: found)
                return true
            }
        }
    }

    private let state = NIOLockedValueBox(State())
    private let finished = DispatchSemaphore(value: 0)

    package func collect(_ handle: FileHandle) {
        DispatchQueue.global().async { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                state.withLockedValue {
                    $0.data.append(chunk)
                    $0.resumeSatisfied()
                }
            }
            state.withLockedValue {
                $0.ended = true
                $0.resumeSatisfied()
            }
            finished.signal()
        }
    }

    /// Everything read so far.
    var text: String { state.withLockedValue { $0.text } }

    /// Waits until what was read holds `text` `count` times, or the pipe is closed or the task
    /// cancelled (a test's time limit): `false`.
    func wait(for text: String, count: Int) async -> Bool {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLockedValue {
                    guard !Task.isCancelled else { return continuation.resume(returning: false) }
                    $0.waiters.append((id, text, count, continuation))
                    $0.resumeSatisfied()
                }
            }
        } onCancel: {
            state.withLockedValue { state in
                state.waiters.removeAll { waiter in
                    guard waiter.id == id else { return false }
                    waiter.continuation.resume(returning: false)
                    return true
                }
            }
        }
    }

    /// Waits until the pipe is closed (the process exited) and returns everything read.
    package func waitForEnd() -> String {
        finished.wait()
        finished.signal()
        return state.withLockedValue { $0.text }
    }
}
