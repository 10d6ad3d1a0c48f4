import Laboratory
import LaboratoryPostgres
import LaboratoryProtocol

/// The chat store's settings (`chat-store`, `chat-history-age`, `chat-history-count`), each with its source, resolved
/// like every other setting (flag > environment > `--config` file > default). Both need a restart
/// to change.
struct ChatStoreSettings: Sendable, Equatable {
    /// The PostgreSQL URL; `nil`: chat in memory.
    var url: Sourced<String>?
    /// Seconds an event is kept; 0 for no age limit.
    var historyAge: Sourced<Double>
    /// Events kept per room (the age limit aside).
    var historyCount: Sourced<Int> = Sourced(value: storeWindow, source: .default)

    /// Seven days.
    static let defaultHistoryAge: Double = 7 * 24 * 3600
    /// Events the store keeps per room, the age limit aside (the library's default): far more
    /// than a client's replay (`ChatLimits.storeReplayLimit`), so that a node that falls behind a
    /// busy room (a pause, a slow database read, a neighbour killed) catches up from the table
    /// instead of losing events.
    static let storeWindow = ChatStoreConfiguration(host: "", username: "").historySize
    /// Events a `join` with `after` replays on a server with a store (the library's default; in
    /// memory: `ChatLimits.historySize`, 100), so that a client resuming on another node after its
    /// own died misses nothing in a busy room.
    static let replayWindow = ChatLimits().storeReplayLimit
    /// How the count limit is named in help.
    static let historySizeNote = "\(storeWindow)"
    /// The largest `chat-history-count`.
    static let maximumHistoryCount = 10_000_000

    /// What is wrong with `count` as `chat-history-count` (from `subject`), or `nil`.
    static func countProblem(_ count: Int, _ subject: String) -> String? {
        guard count < replayWindow || count > maximumHistoryCount else { return nil }
        return "\(subject) must be from \(replayWindow) (what a resuming client can be replayed) to "
            + "\(maximumHistoryCount) events; got \(count)"
    }

    /// Reads and checks the chat store's settings.
    ///
    /// - Throws: a one-line usage ``ExitReport`` naming the key and its source: a URL that is
    ///   not a usable `postgres://` URL, an age that is negative or not a number, an age without
    ///   a store.
    static func resolve(_ reader: SettingsReader) async throws(ExitReport) -> ChatStoreSettings {
        let url = try await reader.string(.chatStore, isSecret: true)
        if let url {
            do {
                _ = try ChatStoreConfiguration(url: url.value)
            } catch {
                throw ExitReport(.usage, "\(url.source.subject(.chatStore)): \(error)")
            }
        }
        let age = try await reader.double(.chatHistoryAge)
        if let age {
            if let problem = OptionRange.problem(
                seconds: age.value, positive: false, age.source.subject(.chatHistoryAge))
            {
                throw ExitReport(.usage, problem)
            }
            if url == nil {
                let needed =
                    if case .flag = age.source { SettingKey.chatStore.flag } else { SettingKey.chatStore.rawValue }
                throw ExitReport(.usage, "\(age.source.subject(.chatHistoryAge)) needs \(needed)")
            }
        }
        let count = try await reader.int(.chatHistoryCount)
        if let count {
            if let problem = countProblem(count.value, count.source.subject(.chatHistoryCount)) {
                throw ExitReport(.usage, problem)
            }
            if url == nil {
                let needed =
                    if case .flag = count.source { SettingKey.chatStore.flag } else { SettingKey.chatStore.rawValue }
                throw ExitReport(.usage, "\(count.source.subject(.chatHistoryCount)) needs \(needed)")
            }
        }
        return ChatStoreSettings(
            url: url, historyAge: age ?? Sourced(value: defaultHistoryAge, source: .default),
            historyCount: count ?? Sourced(value: storeWindow, source: .default))
    }

    /// The store's configuration for a server with these chat limits; `nil` for chat in memory.
    func configuration(limits: ChatLimits) -> ChatStoreConfiguration? {
        guard let url, var configuration = try? ChatStoreConfiguration(url: url.value) else { return nil }
        configuration.historySize = max(limits.storeReplayLimit, historyCount.value)
        configuration.historyAge =
            historyAge.value > 0 ? .milliseconds(Int64((historyAge.value * 1000).rounded())) : nil
        return configuration
    }

    /// `key: value  # source` for each chat store setting, the URL's password redacted, as
    /// `--print-config` prints them.
    func printed(_ format: (String, String, SettingSource) -> String, shown: (Any) -> String) -> [String] {
        [
            url.map {
                format(SettingKey.chatStore.rawValue, shown(ChatStoreConfiguration.redacted($0.value)), $0.source)
            }
                ?? format(SettingKey.chatStore.rawValue, "memory", .default),
            format(SettingKey.chatHistoryAge.rawValue, shown(historyAge.value), historyAge.source),
            format(SettingKey.chatHistoryCount.rawValue, shown(historyCount.value), historyCount.source),
        ]
    }

    /// The settings that differ from `other` (all need a restart).
    func changes(from other: ChatStoreSettings) -> [SettingKey] {
        var changed: [SettingKey] = []
        if url?.value != other.url?.value { changed.append(.chatStore) }
        if historyAge.value != other.historyAge.value { changed.append(.chatHistoryAge) }
        if historyCount.value != other.historyCount.value { changed.append(.chatHistoryCount) }
        return changed
    }
}
