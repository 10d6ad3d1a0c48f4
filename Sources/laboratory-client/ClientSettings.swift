import Foundation

/// What the client remembers between runs, in `last.json`: the last server and display name,
/// so that `laboratory connect` with no arguments goes back where it was.
struct ClientSettings: Codable, Equatable, Sendable {
    /// The last server, as `HOST:PORT`.
    var server: String?
    /// The last display name.
    var name: String?

    /// The client's folder: `$XDG_CONFIG_HOME/laboratory`, else `$HOME/.config/laboratory`.
    static func directory(environment: [String: String]) -> String {
        if let base = environment["XDG_CONFIG_HOME"], base.hasPrefix("/") {
            return base + "/laboratory"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/laboratory"
    }

    /// Reads `last.json` in `directory`; a missing or unreadable file means nothing is remembered.
    static func load(from directory: String) -> ClientSettings {
        guard let data = FileManager.default.contents(atPath: directory + "/last.json"),
            let settings = try? JSONDecoder().decode(ClientSettings.self, from: data)
        else { return ClientSettings() }
        return settings
    }

    /// Writes `last.json` in `directory`, creating the folder (mode 0700) if needed.
    func save(to directory: String) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory + "/last.json"), options: .atomic)
    }
}
