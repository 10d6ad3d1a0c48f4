import ArgumentParser
import Foundation
import LaboratoryProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `laboratory echo HOST:PORT TEXT...`: sends the text to the echo service, prints the reply and
/// exits; for scripts and quick checks. Notices go to standard error, the reply alone to standard
/// output.
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Send text to the server's echo service and print the reply.")

    @Argument(help: "The server, HOST:PORT.")
    var server: String

    @Argument(help: "The text to send (several words are joined with spaces).")
    var text: [String]

    @OptionGroup var options: ConnectionOptions

    func validate() throws {
        guard !text.isEmpty else { throw ValidationError("give the text to send") }
    }

    func run() async throws {
        try await reportingFailures { connected in
            let environment = ProcessInfo.processInfo.environment
            let directory = ClientSettings.directory(environment: environment)
            let endpoint = try Endpoint(parsing: server)
            connected = endpoint
            let name = options.name ?? ClientSettings.load(from: directory).name ?? "echo"
            let trust = try HostTrust(
                knownHostsPath: options.knownHosts ?? directory + "/known_hosts",
                pinnedFingerprint: options.fingerprint, acceptNew: options.acceptNew,
                ask: Terminal.isTerminal(STDIN_FILENO) ? Terminal.askYesOrNo : nil,
                notice: { Terminal.put("laboratory: \($0)\n", to: STDERR_FILENO) })
            let session = try await trust.connect(to: endpoint, name: name) {
                try PasswordSource.resolve(file: options.passwordFile, environment: environment, endpoint: endpoint)
            }
            do {
                let reply = try await session.request(service: "echo", body: Array(text.joined(separator: " ").utf8))
                await session.close()
                Terminal.put(reply + Array("\n".utf8))
            } catch {
                await session.close()
                throw error
            }
        }
    }
}
