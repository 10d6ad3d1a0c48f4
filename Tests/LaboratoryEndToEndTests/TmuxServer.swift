import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A private tmux server (its own socket, no configuration file) whose sessions run the
/// `laboratory` client on a real terminal. Each client runs under `sh`, which prints its exit
/// status in the pane, and panes stay after their program exits so that it can be read. (tmux's
/// own `pane_dead_status` is not used: on some kernels tmux never learns how a multithreaded
/// child exited.) ``kill()`` ends the server and everything in it.
final class TmuxServer: Sendable {
    let executable: String
    let socketName = "laboratory-test-\(UUID().uuidString.prefix(8))"
    private let serverPID = NIOLockedValueBox<Int32?>(nil)

    /// The tmux on `PATH`, if there is one.
    static func locate() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/tmux" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    init(executable: String) { self.executable = executable }

    /// Runs one tmux command against this server and returns its output.
    @discardableResult
    func command(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-L", socketName, "-f", "/dev/null"] + arguments
        // A file, not a pipe: the tmux server that new-session forks would hold a pipe open forever.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw TmuxError(description: "tmux \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    /// Starts a session named `name` running the client with `arguments` in a 200x50 terminal,
    /// with `environment` set and `LABORATORY_PASSWORD` and `NO_COLOR` unset unless given.
    ///
    /// Foundation's `Process` notices a child's exit when a socket the child inherited closes; the
    /// tmux server that `new-session` may fork inherits it too and keeps it open, so this command
    /// is not waited for: the session's appearance is polled for instead (at most 10 s).
    func start(_ name: String, arguments: [String], environment: [String: String]) async throws {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            ["-L", socketName, "-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "200", "-y", "50"]
            + ["sh", "-c", #""$@"; status=$?; echo "[exited with status $status]"; exit $status"#, "sh"]
            + ["env", "-u", "LABORATORY_PASSWORD", "-u", "NO_COLOR"] + assignments
            + [ClientProcess.executableURL.path] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? command(["has-session", "-t", name])) == nil {
            guard ContinuousClock.now < deadline else {
                throw TmuxError(description: "tmux session \(name) did not start")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try command(["set-option", "-g", "remain-on-exit", "on"])
        let pid = Int32(
            try command(["display-message", "-p", "#{pid}"]).trimmingCharacters(in: .whitespacesAndNewlines))
        serverPID.withLockedValue { $0 = $0 ?? pid }
    }

    /// Types `text` literally into the session's pane, then presses Enter if asked.
    func type(_ name: String, _ text: String, enter: Bool = true) throws {
        if !text.isEmpty { try command(["send-keys", "-t", name, "-l", text]) }
        if enter { try command(["send-keys", "-t", name, "Enter"]) }
    }

    /// Presses a key by tmux name (`C-u`, `Enter`, ...).
    func press(_ name: String, _ key: String) throws {
        try command(["send-keys", "-t", name, key])
    }

    /// What the pane shows, with wrapped lines joined and trailing blank lines dropped.
    func screen(_ name: String) throws -> [String] {
        var lines = try command(["capture-pane", "-p", "-J", "-t", name]).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map { String($0).replacing(/\s+$/, with: "") }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// Polls the pane every 100 ms until `text` appears, for at most `seconds`.
    func waitFor(_ name: String, _ text: String, seconds: Double = 30) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try screen(name).contains(where: { $0.contains(text) }) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Polls until the pane's program has exited, for at most `seconds`; returns its exit status.
    func waitForExit(_ name: String, seconds: Double = 30) async throws -> Int32? {
        let marker = "[exited with status "
        guard try await waitFor(name, marker, seconds: seconds),
            let line = try screen(name).last(where: { $0.hasPrefix(marker) })
        else { return nil }
        return Int32(line.dropFirst(marker.count).dropLast())
    }

    /// Ends the tmux server and every program in it; kills the server if it has not gone within
    /// two seconds.
    func kill() {
        _ = try? command(["kill-server"])
        guard let pid = serverPID.withLockedValue({ $0 }) else { return }
        let deadline = ContinuousClock.now + .seconds(2)
        while isAlive(pid), ContinuousClock.now < deadline { usleep(50_000) }
        if isAlive(pid) { _ = sendSignal(pid, SIGKILL) }
    }
}

private func isAlive(_ pid: Int32) -> Bool { sendSignal(pid, 0) == 0 }

private func sendSignal(_ pid: Int32, _ number: Int32) -> Int32 { kill(pid, number) }

struct TmuxError: Error, CustomStringConvertible {
    var description: String
}
