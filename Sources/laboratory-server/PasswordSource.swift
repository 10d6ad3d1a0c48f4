import Foundation
import Laboratory
import LaboratoryProtocol
import LaboratoryTransport
import Logging

/// Where the server password comes from. The first that is set wins:
///
/// 1. `--password-file`;
/// 2. the environment: `LABORATORY_PASSWORD_FILE`, then `LABORATORY_PASSWORD`;
/// 3. the `--config` file: `password-file`, then `password`;
/// 4. systemd's credential `$CREDENTIALS_DIRECTORY/password` (`LoadCredential=password:…`);
/// 5. `<state-dir>/password`, generated (and printed once) on first start.
enum PasswordSource: Sendable, Equatable {
    /// A file named by `password-file`, from that source.
    case file(Sourced<String>)
    /// The password itself, from `LABORATORY_PASSWORD` or the configuration file.
    case value(Sourced<String>)
    /// systemd's credential at this path.
    case credential(String)
    /// `<state-dir>/password`.
    case stateDirectory

    /// The source the settings name; see the type's documentation for the order.
    static func resolve(reader: SettingsReader, environment: [String: String]) async throws(ExitReport)
        -> PasswordSource
    {
        let file = try await reader.string(.passwordFile)
        let value = try await reader.string(.password, isSecret: true)
        switch (file, value) {
        case (let file?, let value?): return value.source.rank > file.source.rank ? .value(value) : .file(file)
        case (let file?, nil): return .file(file)
        case (nil, let value?): return .value(value)
        case (nil, nil): break
        }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = (directory as NSString).appendingPathComponent("password")
            if FileManager.default.fileExists(atPath: path) { return .credential(path) }
        }
        return .stateDirectory
    }

    /// Reads the password. With `create`, a missing `<state-dir>/password` is generated (and
    /// printed once); without, as on a reload, it is an error.
    ///
    /// - Throws: `StateFileError` naming a file that cannot be read, or `ConfigurationError` for
    ///   a password that is not acceptable.
    func read(_ state: StateDirectory, create: Bool, logger: Logger) throws -> String {
        let password: String
        switch self {
        case .file(let file):
            password = try StateDirectory.readPassword(file: file.value)
            warnIfExposed(file.value, logger: logger)
        case .credential(let path):
            // systemd makes credentials readable by the service alone; no mode warning.
            password = try StateDirectory.readPassword(file: path)
        case .value(let value):
            password = value.value
        case .stateDirectory where create:
            let (stored, created) = try state.loadOrCreatePassword()
            warnIfExposed(state.passwordPath, logger: logger)
            if created {
                say("Generated a server password (shown once, stored in \(state.passwordPath)): \(stored)")
            }
            password = stored
        case .stateDirectory:
            password = try StateDirectory.readPassword(file: state.passwordPath)
            warnIfExposed(state.passwordPath, logger: logger)
        }
        try ServerConfiguration.validate(password: password)
        return password
    }

    private func warnIfExposed(_ path: String, logger: Logger) {
        if let warning = FileExposure.check(path: path, what: "the password file") { logger.warning("\(warning)") }
    }

    /// The `--print-config` lines: where the password comes from, never the password.
    func printed(stateDirectory: String) -> [(key: String, value: String, source: SettingSource)] {
        switch self {
        case .file(let file): [("password-file", "\"\(file.value)\"", file.source)]
        case .value(let value): [("password", "<redacted>", value.source)]
        case .credential(let path): [("password-file", "\"\(path)\"", .systemd("$CREDENTIALS_DIRECTORY"))]
        case .stateDirectory:
            [("password-file", "\"\((stateDirectory as NSString).appendingPathComponent("password"))\"", .default)]
        }
    }
}
