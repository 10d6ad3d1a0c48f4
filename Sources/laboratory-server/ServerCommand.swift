import ArgumentParser
import Foundation
import Laboratory
import LaboratoryHTTP
import LaboratoryLegacy
import LaboratoryProtocol
import LaboratoryTransport
import Logging
import ServiceLifecycle

/// `laboratory-server`: runs a Laboratory server with the built-in services.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laboratory-server",
        abstract: "Run a Laboratory server: encrypted, password-gated sessions with the built-in services.",
        discussion: """
            Built-in services: echo (replies with what it receives) and chat (rooms, members, direct \
            messages). \
            The password comes from --password-file, else the LABORATORY_PASSWORD environment variable, \
            else <state-dir>/password, which is generated (and printed once) on first start. \
            The host key lives in <state-dir>/host_key.pem and is generated on first start. \
            A failure to start is one line on standard error and a sysexits status (README.md, "Exit statuses").
            """,
        version: LaboratoryVersion.current)

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 to 65535); 0 picks a free one and prints it.")
    var port = 12800

    @Option(help: "The server's name, shown to clients.")
    var name = "Laboratory"

    @Option(help: "Where the host key and generated password are kept.")
    var stateDir = "./.laboratory"

    @Option(help: "A file holding the server password (first line).")
    var passwordFile: String?

    @Option(help: "Seconds each handshake step may take, from the moment it begins.")
    var handshakeStepTimeout = 10.0

    @Option(help: "Seconds the whole handshake may take from connection, however the client paces its bytes.")
    var handshakeTimeout = 30.0

    @Option(help: "Seconds an accepted client may be quiet before the server pings it; 0 turns pings off.")
    var keepaliveInterval = 30.0

    @Option(help: "Seconds an accepted client may send nothing, not even a pong, before it is dropped; 0 for never.")
    var idleTimeout = 90.0

    @Option(help: "Connections of any kind at once; more are refused.")
    var maxConnections = AdmissionPolicy().maximumConnections

    @Option(
        help: ArgumentHelp(
            "Early random drop of unfinished handshakes, like sshd's MaxStartups: from <start> open, refuse "
                + "<rate>% of new connections, rising to 100% at <full>, the size of the handshake table. Only "
                + "sources at or above their fair share of the table are dropped; one below it evicts the "
                + "heaviest network's oldest unfinished handshake when the table is full.",
            valueName: "start:rate:full"))
    var maxStartups = Self.describe(AdmissionPolicy().maxStartups)

    @Option(help: "Unfinished handshakes one source address may have at once.")
    var maxUnauthenticatedPerSource = AdmissionPolicy().maximumUnauthenticatedPerSource

    @Option(help: "Unfinished handshakes one network (IPv4 /24, IPv6 /64) may have at once.")
    var maxUnauthenticatedPerNetwork = AdmissionPolicy().maximumUnauthenticatedPerNetwork

    @Option(
        help: ArgumentHelp(
            "Seconds of penalty a source earns for each second a connection of its held an unfinished "
                + "handshake and then ended without finishing (0 to 60).", valueName: "seconds"))
    var penaltyPerSecondUnfinished = Double(PenaltyPolicy().perSecondUnfinished / .seconds(1))

    @Option(
        help: ArgumentHelp(
            "An address or an IPv4 or IPv6 CIDR block never penalised for failures (repeatable).",
            valueName: "address"))
    var penaltyExempt: [String] = []

    @Option(help: "The largest frame payload accepted, in bytes.")
    var maxFrameSize = Frame.defaultMaximumPayloadByteCount

    @Option(
        help: """
            Also listen on this port for the original prototype's clients (its weak wire format: \
            no server authentication, plaintext by default). 0 picks a free port. Off unless given.
            """)
    var legacyPort: Int?

    @Option(help: "Seconds each legacy handshake step may take (the prototype used 1).")
    var legacyStepTimeout = 1.0

    @OptionGroup(title: "HTTP")
    var http: HTTPOptions

    @Flag(help: "Let clients choose an unencrypted session (the prototype's empty key). Unsafe.")
    var allowPlaintext = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Log format on standard error: text (key=value, client text quoted) or json (one object a line).")
    var logFormat = LogFormat.text

    func validate() throws {
        _ = try parsedMaxStartups()
        try OptionRange.check(port, 0...65535, "--port")
        if let legacyPort { try OptionRange.check(legacyPort, 0...65535, "--legacy-port") }
        try OptionRange.check(maxFrameSize, 1...OptionRange.maximumFrameSize, "--max-frame-size")
        try OptionRange.check(maxConnections, 1...OptionRange.maximumCount, "--max-connections")
        try OptionRange.check(
            maxUnauthenticatedPerSource, 1...OptionRange.maximumCount, "--max-unauthenticated-per-source")
        try OptionRange.check(
            maxUnauthenticatedPerNetwork, 1...OptionRange.maximumCount, "--max-unauthenticated-per-network")
        try OptionRange.check(seconds: handshakeStepTimeout, positive: true, "--handshake-step-timeout")
        try OptionRange.check(seconds: handshakeTimeout, positive: true, "--handshake-timeout")
        try OptionRange.check(seconds: keepaliveInterval, positive: false, "--keepalive-interval")
        try OptionRange.check(seconds: idleTimeout, positive: false, "--idle-timeout")
        try OptionRange.check(seconds: legacyStepTimeout, positive: true, "--legacy-step-timeout")
        guard (0...60).contains(penaltyPerSecondUnfinished) else {
            throw ValidationError("--penalty-per-second-unfinished must be between 0 and 60")
        }
        for pattern in penaltyExempt where AddressPattern(pattern) == nil {
            throw ValidationError("--penalty-exempt \(pattern) is neither an address nor a CIDR block")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError(
                "unknown log level \"\(logLevel)\"; use trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() async throws {
        do {
            try await serve()
        } catch {
            let report = ExitReport.server(for: error, address: Self.address(host, port))
            say("laboratory-server: " + report.message, to: .standardError)
            throw ExitCode(report.status.rawValue)
        }
    }

    private func serve() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        logFormat.bootstrap(level: level)
        let logger = Logger(label: "laboratory.server")
        let state = StateDirectory(path: stateDir)
        if let notice = try state.prepare() { logger.notice("\(notice)") }

        let password = try resolvePassword(state, logger: logger)
        let (hostKey, keyCreated) = try state.loadOrCreateHostKey()
        if let warning = FileExposure.check(path: state.hostKeyPath, what: "the host key") {
            logger.warning("\(warning)")
        }
        if keyCreated { say("Created host key \(state.hostKeyPath)") }
        say("Host key fingerprint: \(hostKey.publicKey.fingerprint)")

        var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
        configuration.host = host
        configuration.port = port
        configuration.serverName = name
        configuration.handshakeStepTimeout = .seconds(handshakeStepTimeout)
        configuration.handshakeTimeout = .seconds(handshakeTimeout)
        configuration.keepaliveInterval = keepaliveInterval > 0 ? .seconds(keepaliveInterval) : nil
        configuration.idleTimeout = idleTimeout > 0 ? .seconds(idleTimeout) : nil
        configuration.admission.maximumConnections = maxConnections
        configuration.admission.maxStartups = try parsedMaxStartups()
        configuration.admission.maximumUnauthenticatedPerSource = maxUnauthenticatedPerSource
        configuration.admission.maximumUnauthenticatedPerNetwork = maxUnauthenticatedPerNetwork
        configuration.admission.penalties.perSecondUnfinished = .milliseconds(
            Int64((penaltyPerSecondUnfinished * 1000).rounded()))
        configuration.admission.penalties.exempt = penaltyExempt
        configuration.maximumFrameSize = maxFrameSize
        configuration.allowsPlaintext = allowPlaintext
        let legacyListener = legacyPort.map { legacyPort in
            var legacy = LegacyConfiguration(port: legacyPort)
            legacy.host = host
            legacy.stepTimeout = .seconds(legacyStepTimeout)
            return AddressedListener(
                base: LegacyListener(configuration: legacy), option: "--legacy-port",
                address: Self.address(host, legacyPort))
        }

        let drain = DrainTrigger()
        let httpListener = try http.makeListener { http in
            let (token, created) = try state.loadOrCreateAdminToken()
            if created { say("Created admin token \(state.adminTokenPath)") }
            if let warning = FileExposure.check(path: state.adminTokenPath, what: "the admin token") {
                logger.warning("\(warning)")
            }
            // Reload: `nil` (501) until the server has a live-reload API to call.
            http.admin = AdminConfiguration(token: token, onDrain: { await drain.drain() })
        }
        var listeners: [any LaboratoryListener] = legacyListener.map { [$0] } ?? []
        if let httpListener { listeners.append(httpListener) }
        let server = LaboratoryServer(
            configuration: configuration, services: .standard, listeners: listeners, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        drain.attach(group)
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
                say("Listening on \(address.ipAddress ?? host):\(address.port ?? port)")
            }
            try await tasks.waitForAll()
        }
    }

    /// `--max-startups` as a value; throws a usage error unless it is `start:rate:full` with
    /// `start <= full` and a rate from 0 to 100.
    private func parsedMaxStartups() throws -> MaxStartups {
        let fields = maxStartups.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard fields.count == 3, let start = fields[0], let rate = fields[1], let full = fields[2],
            start >= 0, start <= full, (0...100).contains(rate)
        else {
            throw ValidationError(
                "--max-startups takes start:rate:full with start <= full and rate 0 to 100, e.g. 10:30:100")
        }
        return MaxStartups(start: start, rate: rate, full: full)
    }

    private static func describe(_ value: MaxStartups) -> String { "\(value.start):\(value.rate):\(value.full)" }

    private static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The password: `--password-file`, else `LABORATORY_PASSWORD`, else the state directory's
    /// (generated on first start); the client follows the same order.
    private func resolvePassword(_ state: StateDirectory, logger: Logger) throws -> String {
        let password: String
        if let passwordFile {
            password = try StateDirectory.readPassword(file: passwordFile)
            if let warning = FileExposure.check(path: passwordFile, what: "the password file") {
                logger.warning("\(warning)")
            }
        } else if let fromEnvironment = ProcessInfo.processInfo.environment["LABORATORY_PASSWORD"] {
            password = fromEnvironment
        } else {
            let (stored, created) = try state.loadOrCreatePassword()
            if let warning = FileExposure.check(path: state.passwordPath, what: "the password file") {
                logger.warning("\(warning)")
            }
            if created {
                say("Generated a server password (shown once, stored in \(state.passwordPath)): \(stored)")
            }
            password = stored
        }
        try ServerConfiguration.validate(password: password)
        return password
    }
}

/// Writes a line to standard output (or `handle`) unbuffered, so a parent process reading it sees
/// it at once.
private func say(_ line: String, to handle: FileHandle = .standardOutput) {
    handle.write(Data((line + "\n").utf8))
}
