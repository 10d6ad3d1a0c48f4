import Configuration
import Foundation
import Laboratory
import LaboratoryProtocol
import LaboratoryTransport
import Logging

/// `laboratory-server`'s effective configuration: every setting with its value and its source,
/// merged by ``SettingsReader`` (flag > environment > `--config` file > default) and checked.
struct ServerSettings: Sendable {
    var configFile: Sourced<String>?
    var host: Sourced<String>
    var port: Sourced<Int>
    var name: Sourced<String>
    var stateDir: Sourced<String>
    var password: PasswordSource
    var handshakeStepTimeout: Sourced<Double>
    var handshakeTimeout: Sourced<Double>
    var keepaliveInterval: Sourced<Double>
    var idleTimeout: Sourced<Double>
    var maxConnections: Sourced<Int>
    var maxStartups: Sourced<MaxStartups>
    var maxUnauthenticatedPerSource: Sourced<Int>
    var maxUnauthenticatedPerNetwork: Sourced<Int>
    var penaltyPerSecondUnfinished: Sourced<Double>
    var penaltyExempt: Sourced<[String]>
    var maxFrameSize: Sourced<Int>
    var legacyPort: Sourced<Int>?
    var legacyStepTimeout: Sourced<Double>
    /// The HTTP listener's settings.
    var http: HTTPSettings
    /// Where chat keeps its rooms.
    var chatStore: ChatStoreSettings
    var allowPlaintext: Sourced<Bool>
    var logLevel: Sourced<Logger.Level>
    var logFormat: Sourced<LogFormat>

    /// Reads and checks every setting. `configFile` is `--config` (else `LABORATORY_CONFIG`);
    /// `environment` also supplies systemd's `STATE_DIRECTORY` and `CREDENTIALS_DIRECTORY`.
    ///
    /// - Throws: a one-line ``ExitReport`` naming the key and its source: a usage error for a
    ///   value out of range or of the wrong type, and the file's own status for a configuration
    ///   file that is missing, unreadable or malformed.
    static func resolve(
        flags: [SettingKey: ConfigContent], configFlag: String?, environment: [String: String]
    ) async throws(ExitReport) -> ServerSettings {
        let configFile =
            configFlag.map { Sourced(value: $0, source: .flag("--config")) }
            ?? environment["LABORATORY_CONFIG"].map { Sourced(value: $0, source: .environment("LABORATORY_CONFIG")) }
        let reader = try await SettingsReader(flags: flags, environment: environment, configFile: configFile?.value)
        let defaults = AdmissionPolicy()

        func int(_ key: SettingKey, _ fallback: Int, _ range: ClosedRange<Int>) async throws(ExitReport) -> Sourced<Int>
        {
            let read = try await reader.int(key) ?? Sourced(value: fallback, source: .default)
            if let problem = OptionRange.problem(read.value, range, read.source.subject(key)) {
                throw ExitReport(.usage, problem)
            }
            return read
        }
        func seconds(_ key: SettingKey, _ fallback: Double, positive: Bool) async throws(ExitReport) -> Sourced<Double>
        {
            let read = try await reader.double(key) ?? Sourced(value: fallback, source: .default)
            if let problem = OptionRange.problem(seconds: read.value, positive: positive, read.source.subject(key)) {
                throw ExitReport(.usage, problem)
            }
            return read
        }
        func string(_ key: SettingKey, _ fallback: String) async throws(ExitReport) -> Sourced<String> {
            try await reader.string(key) ?? Sourced(value: fallback, source: .default)
        }
        func parsed<Value>(
            _ key: SettingKey, _ fallback: Value, _ expected: String, _ parse: (String) -> Value?
        ) async throws(ExitReport) -> Sourced<Value> {
            guard let read = try await reader.string(key) else { return Sourced(value: fallback, source: .default) }
            guard let value = parse(read.value) else {
                throw ExitReport(.usage, "\(read.source.subject(key)) must be \(expected), not \"\(read.value)\"")
            }
            return Sourced(value: value, source: read.source)
        }

        let count = 1...OptionRange.maximumCount
        let stateDirectory = try await reader.string(.stateDir) ?? Self.defaultStateDirectory(environment)
        let penalty =
            try await reader.double(.penaltyPerSecondUnfinished)
            ?? Sourced(value: Double(defaults.penalties.perSecondUnfinished / .seconds(1)), source: .default)
        guard (0...60).contains(penalty.value) else {
            throw ExitReport(
                .usage, "\(penalty.source.subject(.penaltyPerSecondUnfinished)) must be between 0 and 60")
        }
        let exempt = try await reader.strings(.penaltyExempt) ?? Sourced(value: [], source: .default)
        for pattern in exempt.value where AddressPattern(pattern) == nil {
            throw ExitReport(
                .usage,
                "\(exempt.source.subject(.penaltyExempt)): \(pattern) is neither an address nor a CIDR block")
        }
        let legacyPort = try await reader.int(.legacyPort)
        if let legacyPort,
            let problem = OptionRange.problem(legacyPort.value, 0...65535, legacyPort.source.subject(.legacyPort))
        {
            throw ExitReport(.usage, problem)
        }
        return ServerSettings(
            configFile: configFile,
            host: try await string(.host, "127.0.0.1"),
            port: try await int(.port, 12800, 0...65535),
            name: try await string(.name, "Laboratory"),
            stateDir: stateDirectory,
            password: try await PasswordSource.resolve(reader: reader, environment: environment),
            handshakeStepTimeout: try await seconds(.handshakeStepTimeout, 10, positive: true),
            handshakeTimeout: try await seconds(.handshakeTimeout, 30, positive: true),
            keepaliveInterval: try await seconds(.keepaliveInterval, 30, positive: false),
            idleTimeout: try await seconds(.idleTimeout, 90, positive: false),
            maxConnections: try await int(.maxConnections, defaults.maximumConnections, count),
            maxStartups: try await parsed(
                .maxStartups, defaults.maxStartups, "start:rate:full with start <= full and rate 0 to 100",
                MaxStartups.init(parsing:)),
            maxUnauthenticatedPerSource: try await int(
                .maxUnauthenticatedPerSource, defaults.maximumUnauthenticatedPerSource, count),
            maxUnauthenticatedPerNetwork: try await int(
                .maxUnauthenticatedPerNetwork, defaults.maximumUnauthenticatedPerNetwork, count),
            penaltyPerSecondUnfinished: penalty,
            penaltyExempt: exempt,
            maxFrameSize: try await int(
                .maxFrameSize, Frame.defaultMaximumPayloadByteCount, 1...OptionRange.maximumFrameSize),
            legacyPort: legacyPort,
            legacyStepTimeout: try await seconds(.legacyStepTimeout, 1, positive: true),
            http: try await HTTPSettings.resolve(reader),
            chatStore: try await ChatStoreSettings.resolve(reader),
            allowPlaintext: try await allowPlaintext(reader),
            logLevel: try await parsed(
                .logLevel, .info, "trace, debug, info, notice, warning, error or critical", Logger.Level.init(rawValue:)
            ),
            logFormat: try await parsed(.logFormat, .text, "text or json", LogFormat.init(rawValue:)))
    }

    /// `allow-plaintext`; off unless set (the flag's source is `--no-allow-plaintext` when it
    /// turns it off).
    private static func allowPlaintext(_ reader: SettingsReader) async throws(ExitReport) -> Sourced<Bool> {
        guard var read = try await reader.bool(.allowPlaintext) else { return Sourced(value: false, source: .default) }
        if case .flag = read.source, !read.value { read.source = .flag("--no-allow-plaintext") }
        return read
    }

    /// systemd's `$STATE_DIRECTORY` (the first, if `StateDirectory=` names several), else
    /// `./.laboratory`.
    private static func defaultStateDirectory(_ environment: [String: String]) -> Sourced<String> {
        if let systemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !systemd.isEmpty {
            return Sourced(value: String(systemd), source: .systemd("$STATE_DIRECTORY"))
        }
        return Sourced(value: "./.laboratory", source: .default)
    }

    /// The admission policy these settings describe.
    var admission: AdmissionPolicy {
        var admission = AdmissionPolicy()
        admission.maximumConnections = maxConnections.value
        admission.maxStartups = maxStartups.value
        admission.maximumUnauthenticatedPerSource = maxUnauthenticatedPerSource.value
        admission.maximumUnauthenticatedPerNetwork = maxUnauthenticatedPerNetwork.value
        admission.penalties.perSecondUnfinished = .milliseconds(
            Int64((penaltyPerSecondUnfinished.value * 1000).rounded()))
        admission.penalties.exempt = penaltyExempt.value
        return admission
    }

    /// The server's configuration, with `hostKey` and `password`.
    func serverConfiguration(hostKey: RSAPrivateKey, password: String) throws -> ServerConfiguration {
        var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
        configuration.host = host.value
        configuration.port = port.value
        configuration.serverName = name.value
        configuration.handshakeStepTimeout = .seconds(handshakeStepTimeout.value)
        configuration.handshakeTimeout = .seconds(handshakeTimeout.value)
        configuration.keepaliveInterval = keepaliveInterval.value > 0 ? .seconds(keepaliveInterval.value) : nil
        configuration.idleTimeout = idleTimeout.value > 0 ? .seconds(idleTimeout.value) : nil
        configuration.admission = admission
        configuration.maximumFrameSize = maxFrameSize.value
        configuration.allowsPlaintext = allowPlaintext.value
        return configuration
    }

    /// Each setting as `key: value  # source`, one a line, the password redacted: what
    /// `--print-config` prints.
    var printed: [String] {
        func line(_ key: String, _ value: String, _ source: SettingSource) -> String { "\(key): \(value)  # \(source)" }
        func line<Value>(_ key: SettingKey, _ sourced: Sourced<Value>) -> String {
            line(key.rawValue, Self.shown(sourced.value), sourced.source)
        }
        var lines: [String] = []
        if let configFile { lines.append(line("config", Self.shown(configFile.value), configFile.source)) }
        lines += [
            line(.host, host), line(.port, port), line(.name, name), line(.stateDir, stateDir),
        ]
        lines += password.printed(stateDirectory: stateDir.value).map { line($0.key, $0.value, $0.source) }
        lines += [
            line(.handshakeStepTimeout, handshakeStepTimeout), line(.handshakeTimeout, handshakeTimeout),
            line(.keepaliveInterval, keepaliveInterval), line(.idleTimeout, idleTimeout),
            line(.maxConnections, maxConnections), line(.maxStartups, maxStartups),
            line(.maxUnauthenticatedPerSource, maxUnauthenticatedPerSource),
            line(.maxUnauthenticatedPerNetwork, maxUnauthenticatedPerNetwork),
            line(.penaltyPerSecondUnfinished, penaltyPerSecondUnfinished), line(.penaltyExempt, penaltyExempt),
            line(.maxFrameSize, maxFrameSize),
            legacyPort.map { line(.legacyPort, $0) } ?? line(SettingKey.legacyPort.rawValue, "off", .default),
            line(.legacyStepTimeout, legacyStepTimeout),
        ]
        lines += http.printed(line, shown: Self.shown)
        lines += chatStore.printed(line, shown: Self.shown)
        lines += [line(.allowPlaintext, allowPlaintext), line(.logLevel, logLevel), line(.logFormat, logFormat)]
        return lines
    }

    /// A value as `--print-config` shows it: strings quoted, lists in brackets.
    private static func shown(_ value: Any) -> String {
        switch value {
        case let text as String: "\"\(text)\""
        case let list as [String]: "[\(list.map { "\"\($0)\"" }.joined(separator: ", "))]"
        case let startups as MaxStartups: "\"\(startups.start):\(startups.rate):\(startups.full)\""
        case let format as LogFormat: format.rawValue
        default: "\(value)"
        }
    }

    /// The settings that differ from `other` and need a restart to change (everything but the
    /// live ones: the password, the limits, the penalties' exemptions and rate, the log level).
    func restartOnlyChanges(from other: ServerSettings) -> [SettingKey] {
        var changed: [SettingKey] = []
        func differ<Value: Equatable>(_ key: SettingKey, _ path: KeyPath<ServerSettings, Sourced<Value>>) {
            if self[keyPath: path].value != other[keyPath: path].value { changed.append(key) }
        }
        differ(.host, \.host)
        differ(.port, \.port)
        differ(.name, \.name)
        differ(.stateDir, \.stateDir)
        differ(.handshakeStepTimeout, \.handshakeStepTimeout)
        differ(.handshakeTimeout, \.handshakeTimeout)
        differ(.keepaliveInterval, \.keepaliveInterval)
        differ(.idleTimeout, \.idleTimeout)
        differ(.maxFrameSize, \.maxFrameSize)
        differ(.legacyStepTimeout, \.legacyStepTimeout)
        differ(.allowPlaintext, \.allowPlaintext)
        differ(.logFormat, \.logFormat)
        if legacyPort?.value != other.legacyPort?.value { changed.append(.legacyPort) }
        changed += http.changes(from: other.http)
        changed += chatStore.changes(from: other.chatStore)
        return changed
    }
}

extension MaxStartups {
    /// `start:rate:full`, with `start <= full` and a rate from 0 to 100; `nil` otherwise.
    init?(parsing text: String) {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard fields.count == 3, let start = fields[0], let rate = fields[1], let full = fields[2],
            start >= 0, start <= full, (0...100).contains(rate)
        else { return nil }
        self.init(start: start, rate: rate, full: full)
    }
}
