import Configuration
import Foundation
import LaboratoryProtocol
import Synchronization
import SystemPackage
import Yams

/// Reads `laboratory-server`'s settings through swift-configuration: one `ConfigReader` over the
/// flags, the `LABORATORY_…` environment and the `--config` file, queried in that order, so the
/// first that has a key gives its value. Each value comes back with its source.
struct SettingsReader {
    private let reader: ConfigReader
    private let lastAccess: LastAccess
    /// The source each provider stands for, in the reader's order.
    private let sources: [(SettingKey) -> SettingSource]

    /// - Parameters:
    ///   - flags: the values given on the command line.
    ///   - environment: the process's environment; only `LABORATORY_…` names are read.
    ///   - configFile: a JSON (`.json`) or YAML (`.yaml`, `.yml`) file, if any.
    init(flags: [SettingKey: ConfigContent], environment: [String: String], configFile: String?)
        async throws(ExitReport)
    {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, content) in flags {
            values[AbsoluteConfigKey([key.rawValue])] = ConfigValue(content, isSecret: false)
        }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific(["LABORATORY_PASSWORD", "LABORATORY_CHAT_STORE"])
            ).prefixKeys(with: "laboratory"),
        ]
        var sources: [(SettingKey) -> SettingSource] = [{ .flag($0.flag) }, { .environment($0.environmentVariable) }]
        if let configFile {
            providers.append(try await Self.fileProvider(configFile))
            sources.append { _ in .file(configFile) }
        }
        let lastAccess = LastAccess()
        self.reader = ConfigReader(providers: providers, accessReporter: lastAccess)
        self.lastAccess = lastAccess
        self.sources = sources
    }

    /// The configuration file's provider; throws a one-line error naming the file if it is
    /// missing, unreadable or malformed.
    private static func fileProvider(_ path: String) async throws(ExitReport) -> any ConfigProvider {
        let format = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard ["json", "yaml", "yml"].contains(format) else {
            throw ExitReport(
                .usage, "--config \(path): the configuration file must be JSON (.json) or YAML (.yaml, .yml)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ExitReport(
                .noInput, "the configuration file \(path) does not exist; check the path given to --config")
        }
        guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw ExitReport(
                .noPermission,
                "cannot read the configuration file \(path): permission denied or not a file; check its mode")
        }
        let provider: any ConfigProvider
        do {
            if format == "json" {
                provider = try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
            } else {
                provider = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            }
        } catch {
            let kind = format == "json" ? "JSON" : "YAML"
            // Foundation's JSON errors keep their reason in the debug description.
            let described = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            let reason = described.split(separator: "\n").first.map(String.init) ?? described
            throw ExitReport(
                .dataError,
                "the configuration file \(path) is not a valid \(kind) object of settings (\(reason)); fix it")
        }
        if let unknown = try? unknownKeys(in: path, json: format == "json").first {
            let known = SettingKey.allCases.map(\.rawValue).joined(separator: ", ")
            throw ExitReport(.usage, "\"\(unknown)\" in \(path) is not a setting; the settings are \(known)")
        }
        return provider
    }

    /// The top-level keys of the file that name no setting, sorted: a misspelt setting is refused,
    /// not ignored. (swift-configuration only looks keys up; it cannot list them.)
    private static func unknownKeys(in path: String, json: Bool) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object: Any? =
            json
            ? try JSONSerialization.jsonObject(with: data)
            : try Yams.load(yaml: String(decoding: data, as: UTF8.self))
        guard let keys = (object as? [String: Any])?.keys else { return [] }
        let known = Set(SettingKey.allCases.map(\.rawValue))
        return keys.filter { !known.contains($0) }.sorted()
    }

    /// The value of `key` and its source, `nil` if no source sets it. Throws a one-line usage error
    /// naming the key and its source if the value is not of the setting's type.
    func int(_ key: SettingKey) async throws(ExitReport) -> Sourced<Int>? {
        try await read(key, "a whole number") { try await reader.fetchInt(forKey: ConfigKey(key.rawValue)) }
    }

    /// A number (of seconds, say); see ``int(_:)``.
    func double(_ key: SettingKey) async throws(ExitReport) -> Sourced<Double>? {
        try await read(key, "a number") { try await reader.fetchDouble(forKey: ConfigKey(key.rawValue)) }
    }

    /// A string; see ``int(_:)``.
    func string(_ key: SettingKey, isSecret: Bool = false) async throws(ExitReport) -> Sourced<String>? {
        try await read(key, "a string") {
            try await reader.fetchString(forKey: ConfigKey(key.rawValue), isSecret: isSecret)
        }
    }

    /// `true` or `false`; see ``int(_:)``.
    func bool(_ key: SettingKey) async throws(ExitReport) -> Sourced<Bool>? {
        try await read(key, "true or false") { try await reader.fetchBool(forKey: ConfigKey(key.rawValue)) }
    }

    /// A list of strings (comma-separated in the environment); see ``int(_:)``.
    func strings(_ key: SettingKey) async throws(ExitReport) -> Sourced<[String]>? {
        try await read(key, "a list of strings") {
            try await reader.fetchStringArray(forKey: ConfigKey(key.rawValue))
        }
    }

    private func read<Value>(
        _ key: SettingKey, _ expected: String, _ fetch: () async throws -> Value?
    ) async throws(ExitReport) -> Sourced<Value>? {
        let value: Value?
        do {
            value = try await fetch()
        } catch {
            throw ExitReport(.usage, "\(source(of: key).subject(key)) must be \(expected)")
        }
        guard let value else { return nil }
        return Sourced(value: value, source: source(of: key))
    }

    /// The source of the last value read: the last provider the reader asked (the first that had
    /// the key, or the one whose value could not be read).
    private func source(of key: SettingKey) -> SettingSource {
        let index = (lastAccess.providersAsked ?? 0) - 1
        return sources.indices.contains(index) ? sources[index](key) : .default
    }
}

/// Remembers how many providers the last read asked: ``SettingsReader`` reads one key at a time.
private final class LastAccess: AccessReporter {
    private let count = Mutex<Int?>(nil)

    var providersAsked: Int? { count.withLock { $0 } }

    func report(_ event: AccessEvent) { count.withLock { $0 = event.providerResults.count } }
}
