import ArgumentParser
import Configuration
import Foundation
import Laboratory
import LaboratoryHTTP
import LaboratoryLegacy
import LaboratoryProtocol
import LaboratoryTransport
import Logging
import ServiceLifecycle
import UnixSignals

/// `laboratory-server`: runs a Laboratory server with the built-in services.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laboratory-server",
        abstract: "Run a Laboratory server: encrypted, password-gated sessions with the built-in services.",
        discussion: """
            Built-in services: echo (replies with what it receives) and chat (rooms, members, direct \
            messages). \
            Every option can also be set in the --config file or as a LABORATORY_... environment \
            variable (LABORATORY_PORT, LABORATORY_MAX_CONNECTIONS, ...): a flag beats the environment, which \
            beats the file. \
            The password comes from --password-file, else LABORATORY_PASSWORD_FILE or LABORATORY_PASSWORD, \
            else the file's password-file or password, else $CREDENTIALS_DIRECTORY/password (systemd), \
            else <state-dir>/password, which is generated (and printed once) on first start. \
            SIGHUP rereads the configuration and puts the password, the limits, the penalty exemptions \
            and the log level in force without dropping a session; SIGTERM, SIGINT and SIGQUIT stop \
            gracefully; SIGUSR1 and SIGUSR2 are ignored. \
            The host key lives in <state-dir>/host_key.pem and is generated on first start. \
            A failure to start is one line on standard error and a sysexits status (README.md, "Exit statuses").
            """,
        version: LaboratoryVersion.current)

    @Option(
        help: ArgumentHelp(
            "A JSON (.json) or YAML (.yaml, .yml) file of settings, keyed by the long option names "
                + "(port, max-connections, password-file, ...). Flags beat LABORATORY_... variables, which beat the file.",
            valueName: "file"))
    var config: String?

    @Flag(help: "Print the effective configuration, each value with its source, the password redacted; then exit.")
    var printConfig = false

    @Option(help: "The address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "The port to listen on (0 to 65535; default 12800); 0 picks a free one and prints it.")
    var port: Int?

    @Option(help: "The server's name, shown to clients (default Laboratory).")
    var name: String?

    @Option(help: "Where the host key and generated password are kept (default $STATE_DIRECTORY, else ./.laboratory).")
    var stateDir: String?

    @Option(help: "A file holding the server password (first line).")
    var passwordFile: String?

    @Option(help: "Seconds each handshake step may take, from the moment it begins (default 10).")
    var handshakeStepTimeout: Double?

    @Option(
        help: "Seconds the whole handshake may take from connection, however the client paces its bytes (default 30).")
    var handshakeTimeout: Double?

    @Option(help: "Seconds an accepted client may be quiet before the server pings it; 0 turns pings off (default 30).")
    var keepaliveInterval: Double?

    @Option(
        help:
            "Seconds an accepted client may send nothing, not even a pong, before it is dropped; 0 for never (default 90)."
    )
    var idleTimeout: Double?

    @Option(
        help: "Connections of any kind at once; more are refused (default \(AdmissionPolicy().maximumConnections)).")
    var maxConnections: Int?

    @Option(
        help: ArgumentHelp(
            "Early random drop of unfinished handshakes, like sshd's MaxStartups: from <start> open, refuse "
                + "<rate>% of new connections, rising to 100% at <full>, the size of the handshake table. Only "
                + "sources at or above their fair share of the table are dropped; one below it evicts the "
                + "heaviest network's oldest unfinished handshake when the table is full (default "
                + "\(Self.describe(AdmissionPolicy().maxStartups))).",
            valueName: "start:rate:full"))
    var maxStartups: String?

    @Option(
        help:
            "Unfinished handshakes one source address may have at once (default \(AdmissionPolicy().maximumUnauthenticatedPerSource))."
    )
    var maxUnauthenticatedPerSource: Int?

    @Option(
        help:
            "Unfinished handshakes one network (IPv4 /24, IPv6 /64) may have at once (default \(AdmissionPolicy().maximumUnauthenticatedPerNetwork))."
    )
    var maxUnauthenticatedPerNetwork: Int?

    @Option(
        help: ArgumentHelp(
            "Seconds of penalty a source earns for each second a connection of its held an unfinished "
                + "handshake and then ended without finishing (0 to 60; default 0.6).", valueName: "seconds"))
    var penaltyPerSecondUnfinished: Double?

    @Option(
        help: ArgumentHelp(
            "An address or an IPv4 or IPv6 CIDR block never penalised for failures (repeatable).",
            valueName: "address"))
    var penaltyExempt: [String] = []

    @Option(help: "The largest frame payload accepted, in bytes (default \(Frame.defaultMaximumPayloadByteCount)).")
    var maxFrameSize: Int?

    @Option(
        help: """
            Also listen on this port for the original prototype's clients (its weak wire format: \
            no server authentication, plaintext by default). 0 picks a free port. Off unless given.
            """)
    var legacyPort: Int?

    @Option(help: "Seconds each legacy handshake step may take (the prototype used 1; default 1).")
    var legacyStepTimeout: Double?

    @OptionGroup(title: "HTTP")
    var http: HTTPOptions

    @OptionGroup(title: "Chat store")
    var chatStore: ChatStoreOptions

    @Flag(
        inversion: .prefixedNo,
        help: "Let clients choose an unencrypted session (the prototype's empty key). Unsafe. Default off.")
    var allowPlaintext: Bool?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: String?

    @Option(
        help:
            "Log format on standard error: text (key=value, client text quoted) or json (one object a line); default text."
    )
    var logFormat: LogFormat?

    func validate() throws {
        if let maxStartups, MaxStartups(parsing: maxStartups) == nil {
            throw ValidationError(
                "--max-startups takes start:rate:full with start <= full and rate 0 to 100, e.g. 10:30:100")
        }
        if let port { try OptionRange.check(port, 0...65535, "--port") }
        if let legacyPort { try OptionRange.check(legacyPort, 0...65535, "--legacy-port") }
        if let maxFrameSize {
            try OptionRange.check(maxFrameSize, 1...OptionRange.maximumFrameSize, "--max-frame-size")
        }
        if let maxConnections {
            try OptionRange.check(maxConnections, 1...OptionRange.maximumCount, "--max-connections")
        }
        if let maxUnauthenticatedPerSource {
            try OptionRange.check(
                maxUnauthenticatedPerSource, 1...OptionRange.maximumCount, "--max-unauthenticated-per-source")
        }
        if let maxUnauthenticatedPerNetwork {
            try OptionRange.check(
                maxUnauthenticatedPerNetwork, 1...OptionRange.maximumCount, "--max-unauthenticated-per-network")
        }
        for (value, positive, option) in [
            (handshakeStepTimeout, true, "--handshake-step-timeout"), (handshakeTimeout, true, "--handshake-timeout"),
            (keepaliveInterval, false, "--keepalive-interval"), (idleTimeout, false, "--idle-timeout"),
            (legacyStepTimeout, true, "--legacy-step-timeout"),
        ] {
            if let value { try OptionRange.check(seconds: value, positive: positive, option) }
        }
        if let penaltyPerSecondUnfinished, !(0...60).contains(penaltyPerSecondUnfinished) {
            throw ValidationError("--penalty-per-second-unfinished must be between 0 and 60")
        }
        for pattern in penaltyExempt where AddressPattern(pattern) == nil {
            throw ValidationError("--penalty-exempt \(pattern) is neither an address nor a CIDR block")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError(
                "unknown log level \"\(logLevel)\"; use trace, debug, info, notice, warning, error or critical")
        }
    }

    /// The settings given as flags, for the configuration reader's first provider.
    private var flags: [SettingKey: ConfigContent] {
        var flags: [SettingKey: ConfigContent] = [:]
        flags[.host] = host.map { .string($0) }
        flags[.port] = port.map { .int($0) }
        flags[.name] = name.map { .string($0) }
        flags[.stateDir] = stateDir.map { .string($0) }
        flags[.passwordFile] = passwordFile.map { .string($0) }
        flags[.handshakeStepTimeout] = handshakeStepTimeout.map { .double($0) }
        flags[.handshakeTimeout] = handshakeTimeout.map { .double($0) }
        flags[.keepaliveInterval] = keepaliveInterval.map { .double($0) }
        flags[.idleTimeout] = idleTimeout.map { .double($0) }
        flags[.maxConnections] = maxConnections.map { .int($0) }
        flags[.maxStartups] = maxStartups.map { .string($0) }
        flags[.maxUnauthenticatedPerSource] = maxUnauthenticatedPerSource.map { .int($0) }
        flags[.maxUnauthenticatedPerNetwork] = maxUnauthenticatedPerNetwork.map { .int($0) }
        flags[.penaltyPerSecondUnfinished] = penaltyPerSecondUnfinished.map { .double($0) }
        flags[.penaltyExempt] = penaltyExempt.isEmpty ? nil : .stringArray(penaltyExempt)
        flags[.maxFrameSize] = maxFrameSize.map { .int($0) }
        flags[.legacyPort] = legacyPort.map { .int($0) }
        flags[.legacyStepTimeout] = legacyStepTimeout.map { .double($0) }
        flags[.httpPort] = http.httpPort.map { .int($0) }
        flags[.httpHost] = http.httpHost.map { .string($0) }
        flags[.websocket] = http.websocket ? .bool(true) : nil
        flags[.websocketOrigin] = http.websocketOrigin.isEmpty ? nil : .stringArray(http.websocketOrigin)
        flags[.webRoot] = http.webRoot.map { .string($0) }
        flags[.httpTLSCertificate] = http.httpTLSCertificate.map { .string($0) }
        flags[.httpTLSKey] = http.httpTLSKey.map { .string($0) }
        flags[.chatStore] = chatStore.chatStore.map { .string($0) }
        flags[.chatHistoryAge] = chatStore.chatHistoryAge.map { .double($0) }
        flags[.chatHistoryCount] = chatStore.chatHistoryCount.map { .int($0) }
        flags[.allowPlaintext] = allowPlaintext.map { .bool($0) }
        flags[.logLevel] = logLevel.map { .string($0) }
        flags[.logFormat] = logFormat.map { .string($0.rawValue) }
        return flags
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var address = Self.address(host ?? "127.0.0.1", port ?? 12800)
        do {
            let settings = try await ServerSettings.resolve(
                flags: flags, configFlag: config, environment: environment)
            if printConfig {
                for line in settings.printed { say(line) }
                return
            }
            address = Self.address(settings.host.value, settings.port.value)
            try await serve(settings, environment: environment)
        } catch {
            let report = ExitReport.server(for: error, address: address)
            say("laboratory-server: " + report.message, to: .standardError)
            throw ExitCode(report.status.rawValue)
        }
    }

    private func serve(_ settings: ServerSettings, environment: [String: String]) async throws {
        let level = LiveLogLevel(settings.logLevel.value)
        settings.logFormat.value.bootstrap(level: level)
        let logger = Logger(label: "laboratory.server")
        let state = StateDirectory(path: settings.stateDir.value)
        if let notice = try state.prepare() { logger.notice("\(notice)") }

        let password = try settings.password.read(state, create: true, logger: logger)
        let (hostKey, keyCreated) = try state.loadOrCreateHostKey()
        if let warning = FileExposure.check(path: state.hostKeyPath, what: "the host key") {
            logger.warning("\(warning)")
        }
        if keyCreated { say("Created host key \(state.hostKeyPath)") }
        say("Host key fingerprint: \(hostKey.publicKey.fingerprint)")

        var configuration = try settings.serverConfiguration(hostKey: hostKey, password: password)
        let chat = try await ChatStoreStart.start(settings.chatStore, configuration: &configuration, logger: logger)
        let host = settings.host.value
        let legacyListener = settings.legacyPort.map { legacyPort in
            var legacy = LegacyConfiguration(port: legacyPort.value)
            legacy.host = host
            legacy.stepTimeout = .seconds(settings.legacyStepTimeout.value)
            return AddressedListener(
                base: LegacyListener(configuration: legacy), option: "--legacy-port",
                address: Self.address(host, legacyPort.value))
        }

        let hooks = AdminHooks()
        let httpListener = try settings.http.makeListener { http in
            let (token, created) = try state.loadOrCreateAdminToken()
            if created { say("Created admin token \(state.adminTokenPath)") }
            if let warning = FileExposure.check(path: state.adminTokenPath, what: "the admin token") {
                logger.warning("\(warning)")
            }
            http.admin = AdminConfiguration(
                token: token, onReload: { try await hooks.reload() }, onDrain: { await hooks.drain() })
        }
        var listeners: [any LaboratoryListener] = legacyListener.map { [$0] } ?? []
        if let httpListener { listeners.append(httpListener) }
        let server = LaboratoryServer(
            configuration: configuration, services: chat.services, listeners: listeners, logger: logger)
        let reloader = ConfigurationReloader(
            settings: settings, flags: flags, configFlag: config, environment: environment, server: server,
            logLevel: level, logger: logger)
        let signals = SignalService(
            signals: await UnixSignalsSequence(trapping: SignalService.trapped), reloader: reloader, logger: logger)
        // Every signal that stops the server stops it gracefully: sessions are told and given the
        // grace period. Services stop in reverse order: the chat store's node last, after the
        // server's sessions have left their rooms; it then removes itself.
        let group = ServiceGroup(
            configuration: .init(
                services: (chat.store.map { [.init(service: $0, serviceName: "chat-store")] } ?? []) + [
                    .init(service: server, serviceName: "laboratory"),
                    .init(
                        service: signals, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore,
                        serviceName: "signals"),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint, .sigquit], logger: logger))
        hooks.attach(group)
        hooks.attach(reloader)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let address = try await server.listeningAddress()
                if let legacy = legacyListener?.base.localAddress {
                    say("Legacy listening on \(legacy.ipAddress ?? host):\(legacy.port ?? 0)")
                }
                if let listener = httpListener?.base, let bound = listener.localAddress {
                    let gateway = listener.configuration.webSocketGateway == nil ? "" : " (WebSocket gateway on /v1/ws)"
                    say(
                        "HTTP listening on \(bound.ipAddress ?? listener.configuration.host):\(bound.port ?? 0)\(gateway)"
                    )
                }
                say("Listening on \(address.ipAddress ?? host):\(address.port ?? 0)")
            }
            try await tasks.waitForAll()
        }
    }

    private static func describe(_ value: MaxStartups) -> String { "\(value.start):\(value.rate):\(value.full)" }

    private static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Writes a line to standard output (or `handle`) unbuffered, so a parent process reading it sees
/// it at once.
func say(_ line: String, to handle: FileHandle = .standardOutput) {
    handle.write(Data((line + "\n").utf8))
}
