import Configuration
import Foundation
import Laboratory
import LaboratoryProtocol
import Logging

/// Rereads `laboratory-server`'s configuration (the `--config` file and the password's source;
/// the flags and the environment are those it started with) and puts in force what can change
/// while it runs: the password, the admission limits, the penalties' rate and exemptions, and the
/// log level. SIGHUP calls ``reload()``; so can anything else in the process.
///
/// A configuration that cannot be read or checked is refused as a whole with one log line, and the
/// one in force stays. Settings that need a restart (the address, the timeouts, …) are named in a
/// log line if they changed, and keep their old values.
actor ConfigurationReloader {
    private let flags: [SettingKey: ConfigContent]
    private let configFlag: String?
    private let environment: [String: String]
    private let server: LaboratoryServer
    private let logLevel: LiveLogLevel
    private let logger: Logger
    private var current: ServerSettings

    init(
        settings: ServerSettings, flags: [SettingKey: ConfigContent], configFlag: String?,
        environment: [String: String], server: LaboratoryServer, logLevel: LiveLogLevel, logger: Logger
    ) {
        self.current = settings
        self.flags = flags
        self.configFlag = configFlag
        self.environment = environment
        self.server = server
        self.logLevel = logLevel
        self.logger = logger
    }

    /// Rereads the configuration and applies its live part. (Calls from one task, as SIGHUP's,
    /// run one after the other; calls from several tasks at once may interleave their reading,
    /// and the last to finish is in force.) Returns what changed (as
    /// ``LaboratoryServer/reload(_:)`` lists it, plus `log-level`), or throws the one-line reason
    /// the new configuration was refused; both are logged.
    @discardableResult
    func reload() async throws(ExitReport) -> [String] {
        logger.info("reloading the configuration")
        let new: ServerSettings
        var live = server.liveSettings
        do {
            new = try await ServerSettings.resolve(flags: flags, configFlag: configFlag, environment: environment)
            // The state directory in force (changing it needs a restart), not the file's new one.
            let state = StateDirectory(path: current.stateDir.value)
            let password = try new.password.read(state, create: false, logger: logger)
            try live.setPassword(password)
        } catch {
            // A weak password is reported in its own words (at start it "refuses to start").
            let report =
                (error as? ConfigurationError).map { ExitReport(.dataError, $0.message) }
                ?? ExitReport.server(for: error, address: "")
            logger.error("reload refused, the configuration in force stays: \(report.message)")
            throw report
        }
        live.admission = new.admission
        let restartOnly = new.restartOnlyChanges(from: current)
        if !restartOnly.isEmpty {
            logger.notice(
                "changed in the configuration but only a restart puts it in force; keeping the running value",
                metadata: ["settings": "\(restartOnly.map(\.rawValue).joined(separator: ","))"])
        }
        var changes = server.reload(live)
        if new.logLevel.value != logLevel.current {
            changes.append("log-level \(logLevel.current) -> \(new.logLevel.value)")
            logger.info("log level changed", metadata: ["from": "\(logLevel.current)", "to": "\(new.logLevel.value)"])
            logLevel.current = new.logLevel.value
        }
        // What needs a restart keeps its running value, so that the next reload compares with it.
        var kept = current
        kept.password = new.password
        kept.maxConnections = new.maxConnections
        kept.maxStartups = new.maxStartups
        kept.maxUnauthenticatedPerSource = new.maxUnauthenticatedPerSource
        kept.maxUnauthenticatedPerNetwork = new.maxUnauthenticatedPerNetwork
        kept.penaltyPerSecondUnfinished = new.penaltyPerSecondUnfinished
        kept.penaltyExempt = new.penaltyExempt
        kept.logLevel = new.logLevel
        current = kept
        return changes
    }
}
