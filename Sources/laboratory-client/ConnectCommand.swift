import ArgumentParser
import Foundation
import LaboratoryClient
import LaboratoryProtocol
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `laboratory connect [HOST:PORT] --name NAME`: connects and opens a chat prompt, or, with
/// standard input not a terminal, runs the piped lines as commands and exits at end of input.
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Connect to a server and chat.",
        discussion: """
            The password comes from --password-file, else LABORATORY_PASSWORD, else a prompt. The server and \
            name are remembered in ~/.config/laboratory/last.json (or under $XDG_CONFIG_HOME), so a later \
            `laboratory connect` needs no arguments; /rename changes the name for the session only, \
            /rename --save for the next connect too. On a terminal, lines typed are kept in history \
            (mode 0600) in the same folder; start a line with a space to keep it out. With standard input \
            not a terminal, each input line is run as if typed and the client says bye at end of input. \
            On a terminal, a lost connection (a network cut, a server restart) is reconnected with \
            growing waits, and the rooms are joined again with the messages missed meanwhile; \
            --no-reconnect turns this off. Type /help once connected for the commands.
            """)

    @Argument(help: "The server, HOST:PORT (default: the last one used).")
    var server: String?

    @OptionGroup var options: ConnectionOptions

    @Flag(help: "On a terminal, end when the connection is lost instead of reconnecting (piped runs never reconnect).")
    var noReconnect = false

    func run() async throws {
        try await reportingFailures { connected in
            let environment = ProcessInfo.processInfo.environment
            let directory = ClientSettings.directory(environment: environment)
            var settings = ClientSettings.load(from: directory)
            guard let serverText = server ?? settings.server else {
                throw CommandFailure(
                    "no server given and none remembered; use: laboratory connect HOST:PORT --name NAME",
                    status: .usage)
            }
            let endpoint = try Endpoint(parsing: serverText)
            connected = endpoint
            guard let wanted = options.name ?? settings.name ?? environment["USER"] else {
                throw CommandFailure("no name given and none remembered; pass --name NAME", status: .usage)
            }
            let typing = Terminal.isTerminal(STDIN_FILENO)
            let interactive = typing && Terminal.isTerminal(STDOUT_FILENO)
            let palette = Palette.detect(environment: environment)
            let notice: @Sendable (String) -> Void = { Terminal.put(palette.paint($0, as: .info) + "\n") }
            let trust = try HostTrust(
                knownHostsPath: options.knownHosts ?? directory + "/known_hosts",
                pinnedFingerprint: options.fingerprint, acceptNew: options.acceptNew,
                ask: typing ? Terminal.askYesOrNo : nil, notice: notice)
            // On a terminal a rejected name is asked again; piped, the rejection is the one-line error.
            let askName: @Sendable (NameRejection) async -> String? = { Terminal.askName(after: $0, palette: palette) }
            // The password is asked for (or read) once; reconnections reuse it.
            let password = NIOLockedValueBox<String?>(nil)
            let session = try await trust.connect(to: endpoint, name: wanted, retryName: typing ? askName : nil) {
                let resolved = try PasswordSource.resolve(
                    file: options.passwordFile, environment: environment, endpoint: endpoint)
                password.withLockedValue { $0 = resolved }
                return resolved
            }
            let name = session.acceptedName

            settings.server = endpoint.description
            settings.name = name
            remember(settings, in: directory)
            let remembered = settings
            let acceptance = session.acceptance
            notice(
                "Connected to \(EventText.clean(acceptance.serverName)) at \(endpoint) as \(name) "
                    + "(#\(acceptance.connectionID)). Server key \(session.serverFingerprint)")
            if interactive { notice("Type a line to talk; /help lists the commands.") }

            let console: any Console =
                interactive
                ? try TerminalPrompt(palette: palette, historyFile: InputHistoryFile(directory: directory))
                : LineConsole(palette: palette)
            var reconnecting = ReconnectingChatSession.Configuration()
            reconnecting.policy = interactive && !noReconnect ? ReconnectPolicy() : .never
            // Later connections must meet the key this one met, whatever the trust settings.
            let pinned = ServerTrust.pinned(fingerprint: session.serverFingerprint)
            let knownPassword = password.withLockedValue { $0 } ?? ""
            let chat = ReconnectingChatSession(session: session, configuration: reconnecting) { name in
                try await ClientSession.connect(
                    host: endpoint.host, port: endpoint.port, password: knownPassword, name: name, trust: pinned)
            }
            let outcome = await InteractiveSession(chat: chat, console: console, name: name) { newName in
                var renamed = remembered
                renamed.name = newName
                remember(renamed, in: directory)
            }.run()
            console.finish()
            switch outcome {
            case .quit: break
            case .closed(let message): throw CommandFailure(message, status: .temporaryFailure)
            case .failed(let error): throw error
            }
        }
    }
}

/// Saves `settings`; failing to is worth a warning, not an error.
private func remember(_ settings: ClientSettings, in directory: String) {
    do {
        try settings.save(to: directory)
    } catch {
        Terminal.put("laboratory: could not remember the server in \(directory): \(error)\n", to: STDERR_FILENO)
    }
}
