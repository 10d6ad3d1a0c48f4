import Dispatch
import Foundation

/// A home directory of its own for the `laboratory` client: `HOME` and `XDG_CONFIG_HOME` point
/// into a temporary folder that is removed afterwards.
final class ClientHome: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("laboratory-home-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Where the client keeps its files.
    var configDirectory: String { path + "/config/laboratory" }
    var knownHostsPath: String { configDirectory + "/known_hosts" }

    var environment: [String: String] { ["HOME": path, "XDG_CONFIG_HOME": path + "/config"] }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The `laboratory` terminal client run to completion as a real child process.
enum ClientProcess {
    /// What one run printed and how it ended.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The built executable, next to `laboratory-server`.
    static var executableURL: URL {
        ServerProcess.executableURL.deletingLastPathComponent().appendingPathComponent("laboratory")
    }

    /// Runs the client with `arguments`, feeding `input` to its standard input (a pipe, so not a
    /// terminal), closed after `input` unless `keepInputOpen` (then the session lasts until the
    /// client ends it). The child is killed if it runs longer than `timeout` seconds.
    static func run(
        _ arguments: [String], home: ClientHome, password: String?, input: String = "", keepInputOpen: Bool = false,
        timeout: Double = 30, environment extra: [String: String] = [:]
    ) async throws -> Result {
        let process = Process()
        process.executableURL = executableURL
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for name in ["LABORATORY_PASSWORD", "LABORATORY_ADMIN_TOKEN", "NO_COLOR", "XDG_CONFIG_HOME"] {
            environment.removeValue(forKey: name)
        }
        environment.merge(home.environment) { $1 }
        environment.merge(extra) { $1 }
        environment["LABORATORY_PASSWORD"] = password
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        if !keepInputOpen { try stdin.fileHandleForWriting.close() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            if process.isRunning { process.terminate() }
        }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let group = DispatchGroup()
                nonisolated(unsafe) var errors = Data()
                DispatchQueue.global().async(group: group) {
                    errors = stderr.fileHandleForReading.readDataToEndOfFile()
                }
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                try? stdin.fileHandleForWriting.close()
                continuation.resume(
                    returning: Result(
                        status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                        stderr: String(decoding: errors, as: UTF8.self)))
            }
        }
    }
}
