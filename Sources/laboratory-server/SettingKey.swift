/// A setting of `laboratory-server`, by the name it has in a configuration file. The same setting
/// is the flag `--NAME` and the environment variable `LABORATORY_NAME` (upper case, `-` as `_`).
enum SettingKey: String, CaseIterable, Sendable {
    case host
    case port
    case name
    case stateDir = "state-dir"
    case passwordFile = "password-file"
    /// The password itself: only from the environment or the file (there is no flag).
    case password
    case handshakeStepTimeout = "handshake-step-timeout"
    case handshakeTimeout = "handshake-timeout"
    case keepaliveInterval = "keepalive-interval"
    case idleTimeout = "idle-timeout"
    case maxConnections = "max-connections"
    case maxStartups = "max-startups"
    case maxUnauthenticatedPerSource = "max-unauthenticated-per-source"
    case maxUnauthenticatedPerNetwork = "max-unauthenticated-per-network"
    case penaltyPerSecondUnfinished = "penalty-per-second-unfinished"
    case penaltyExempt = "penalty-exempt"
    case maxFrameSize = "max-frame-size"
    case legacyPort = "legacy-port"
    case legacyStepTimeout = "legacy-step-timeout"
    case httpPort = "http-port"
    case httpHost = "http-host"
    case websocket
    case websocketOrigin = "websocket-origin"
    case webRoot = "web-root"
    case httpTLSCertificate = "http-tls-certificate"
    case httpTLSKey = "http-tls-key"
    case chatStore = "chat-store"
    case chatHistoryAge = "chat-history-age"
    case chatHistoryCount = "chat-history-count"
    case allowPlaintext = "allow-plaintext"
    case logLevel = "log-level"
    case logFormat = "log-format"

    /// `--port`.
    var flag: String { "--" + rawValue }

    /// `LABORATORY_PORT`: the name swift-configuration's environment provider derives from the key
    /// `laboratory.port`.
    var environmentVariable: String { "LABORATORY_" + rawValue.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// Whether a reload can put a new value in force without a restart (the password, the limits,
    /// the penalties and their exemptions, the log level).
    var isLive: Bool {
        switch self {
        case .passwordFile, .password, .maxConnections, .maxStartups, .maxUnauthenticatedPerSource,
            .maxUnauthenticatedPerNetwork, .penaltyPerSecondUnfinished, .penaltyExempt, .logLevel:
            true
        default: false
        }
    }
}

/// Where a setting's value came from, in increasing precedence: a default (or what systemd
/// passes), the configuration file, the environment, a flag.
enum SettingSource: Hashable, Sendable, CustomStringConvertible {
    case `default`
    /// Set by systemd: `$STATE_DIRECTORY`, or the password credential at this path.
    case systemd(String)
    /// The `--config` file at this path.
    case file(String)
    /// This environment variable.
    case environment(String)
    /// This flag.
    case flag(String)

    var description: String {
        switch self {
        case .default: "default"
        case .systemd(let what): "systemd \(what)"
        case .file(let path): "file \(path)"
        case .environment(let name): "environment \(name)"
        case .flag(let flag): "flag \(flag)"
        }
    }

    /// How the setting is named in an error: `--port`, `LABORATORY_PORT in the environment`,
    /// `port in /etc/laboratory.yaml`.
    func subject(_ key: SettingKey) -> String {
        switch self {
        case .default, .systemd: key.rawValue
        case .file(let path): "\(key.rawValue) in \(path)"
        case .environment(let name): "\(name) in the environment"
        case .flag(let flag): flag
        }
    }

    /// The layer: a higher one wins.
    var rank: Int {
        switch self {
        case .default, .systemd: 0
        case .file: 1
        case .environment: 2
        case .flag: 3
        }
    }
}

/// A value and where it came from.
struct Sourced<Value: Sendable>: Sendable {
    var value: Value
    var source: SettingSource
}

extension Sourced: Equatable where Value: Equatable {}
