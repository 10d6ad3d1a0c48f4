import ArgumentParser
import Foundation
import LaboratoryClient

/// `laboratory`: the terminal client. `connect` opens an interactive (or piped) chat session;
/// `echo` sends one line to the echo service for scripts.
@main
struct LaboratoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laboratory",
        abstract: "Talk to a Laboratory server from a terminal or a script.",
        subcommands: [ConnectCommand.self, EchoCommand.self])
}

/// A failure reported as one line on standard error, `laboratory: <message>`, before the client
/// exits with status 1.
struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong, in words.
    var message: String

    init(_ message: String) { self.message = message }

    /// Words for a library error that say what the user can do about it.
    init(_ error: ClientError) {
        switch error.code {
        case .wrongPassword: message = "wrong password"
        case .serverKeyMismatch: message = "server key mismatch: \(error.message)"
        case .connectionFailed: message = error.message
        default: message = error.description
        }
    }

    var description: String { message }
}

/// Runs `body`; a ``CommandFailure`` or `ClientError` becomes one line on standard error and exit
/// status 1. Argument errors and exit codes pass through to ArgumentParser.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CommandFailure {
        try fail(failure)
    } catch let error as ClientError {
        try fail(CommandFailure(error))
    }
}

private func fail(_ failure: CommandFailure) throws -> Never {
    let line = "laboratory: " + EventText.clean(failure.message) + "\n"
    FileHandle.standardError.write(Data(line.utf8))
    throw ExitCode.failure
}
