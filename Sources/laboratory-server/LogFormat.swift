import ArgumentParser
import Laboratory
import Logging

/// How `laboratory-server` writes its log to standard error (`--log-format`).
enum LogFormat: String, CaseIterable, ExpressibleByArgument {
    /// swift-log's `StreamLogHandler`: `timestamp level label: key=value … message`, with every
    /// client-chosen value quoted and escaped (`ClientText`).
    case text
    /// One JSON object a line (``JSONLogHandler``).
    case json

    /// Makes every logger of the process write in this format at the level `level` holds (which
    /// a reload may change).
    func bootstrap(level: LiveLogLevel) {
        switch self {
        case .text:
            LoggingSystem.bootstrap { label in
                LiveLevelLogHandler(StreamLogHandler.standardError(label: label), level: level)
            }
        case .json:
            LoggingSystem.bootstrap { label in LiveLevelLogHandler(JSONLogHandler(label: label), level: level) }
        }
    }
}
