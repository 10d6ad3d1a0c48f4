import Foundation
import LaboratoryTestSupport

/// The `laboratory-server` executable, run as a real child process with its own state directory.
final class ServerProcess: Sendable {
    let child: ChildProcess
    let stateDirectory: String

    /// The built executable: `LABORATORY_SERVER_EXECUTABLE` if set (to measure another build, such
    /// as an earlier commit's, with these tests), next to the test bundle, or in the package's
    /// default build folder.
    static var executableURL: URL {
        if let path = ProcessInfo.processInfo.environment["LABORATORY_SERVER_EXECUTABLE"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("laboratory-server")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/laboratory-server")
    }

    /// Runs the server with `--port 0 --state-dir DIR` before `arguments`, unless `portAndState`
    /// is false (to test where those settings come from; the state directory is then only
    /// removed at the end). systemd's and the configuration's variables are never inherited.
    init(
        arguments: [String], environment: [String: String] = [:], stateDirectory: String? = nil,
        portAndState: Bool = true
    ) throws {
        let state =
            stateDirectory
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("laboratory-test-\(UUID().uuidString)").path
        self.stateDirectory = state
        child = try ChildProcess(
            executable: Self.executableURL,
            arguments: (portAndState ? ["--port", "0", "--state-dir", state] : []) + arguments,
            environment: environment, removing: Self.uninherited)
    }

    /// Reads stdout lines until one starts with `prefix`; returns the rest of that line.
    func value(after prefix: String) async -> String? { await child.value(after: prefix) }

    /// Waits for the process to exit and returns its status and everything it wrote to stderr.
    func waitForExit() async -> (status: Int32, stderr: String) { await child.waitForExit() }

    func interrupt() { child.interrupt() }

    /// Sends `signal` (SIGHUP, SIGTERM, ...) to the server.
    func send(_ signal: Int32) { kill(child.process.processIdentifier, signal) }

    /// Waits until the server's standard error holds `text` `count` times; `false` if it exits first.
    func standardError(containing text: String, count: Int = 1) async -> Bool {
        await child.standardError(containing: text, count: count)
    }

    /// The server's standard error so far.
    var standardErrorSoFar: String { child.standardErrorSoFar }

    /// The variables a test server never inherits: an inherited password, state directory or
    /// configuration must not override the test's choice (or its absence).
    static let uninherited = [
        "LABORATORY_PASSWORD", "LABORATORY_PASSWORD_FILE", "LABORATORY_CONFIG", "LABORATORY_PORT",
        "LABORATORY_HTTP_PORT", "LABORATORY_WEBSOCKET", "LABORATORY_WEBSOCKET_ORIGIN", "LABORATORY_WEB_ROOT",
        "STATE_DIRECTORY", "CREDENTIALS_DIRECTORY",
    ]

    /// The child's process id, for reading its memory from `/proc`.
    var pid: Int32 { child.process.processIdentifier }

    deinit {
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}
