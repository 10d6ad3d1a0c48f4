import ArgumentParser
import Foundation
import LaboratoryClient
import LaboratoryProtocol

/// `laboratory`: the terminal client. `connect` opens an interactive (or piped) chat session;
/// `echo` sends one line to the echo service for scripts.
@main
struct LaboratoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laboratory",
        abstract: "Talk to a Laboratory server from a terminal or a script.",
        discussion: """
            The server's built-in services: echo (replies with what it receives) and chat (rooms, members, \
            direct messages); `connect` uses both, `echo` the first. A failure is one line on standard error \
            and a sysexits status (README.md, "Exit statuses").
            """,
        version: LaboratoryVersion.current,
        subcommands: [ConnectCommand.self, EchoCommand.self, AdminCommand.self])
}

/// A failure reported as one line on standard error, `laboratory: <message>`, before the client
/// exits with its sysexits status (README.md, "Exit statuses").
struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong, in words, and the exit status.
    var report: ExitReport

    init(_ message: String, status: ProcessExitStatus) { report = ExitReport(status, message) }

    var description: String { report.message }
}

/// Runs `body`; a ``CommandFailure`` or `ClientError` (talking to `endpoint`, once known) becomes
/// one line on standard error and its exit status. Argument errors and exit codes pass through to
/// ArgumentParser.
func reportingFailures(_ body: (_ endpoint: inout Endpoint?) async throws -> Void) async throws {
    var endpoint: Endpoint?
    do {
        try await body(&endpoint)
    } catch let failure as CommandFailure {
        try fail(failure.report)
    } catch let error as ClientError {
        try fail(ExitReport.client(for: error, endpoint: endpoint?.description ?? "the server"))
    }
}

private func fail(_ report: ExitReport) throws -> Never {
    let line = "laboratory: " + EventText.clean(report.message) + "\n"
    FileHandle.standardError.write(Data(line.utf8))
    throw ExitCode(report.status.rawValue)
}
