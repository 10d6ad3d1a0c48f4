import Logging
import Synchronization

/// The log level of every logger of the process, changeable while it runs (SIGHUP reloads it).
final class LiveLogLevel: Sendable {
    private let level: Mutex<Logger.Level>

    init(_ level: Logger.Level) { self.level = Mutex(level) }

    /// The level in force.
    var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// A log handler whose level is the process's ``LiveLogLevel``: every copy of every logger follows
/// a change at once. `base` writes the lines.
struct LiveLevelLogHandler<Base: LogHandler>: LogHandler {
    var base: Base
    let level: LiveLogLevel

    init(_ base: Base, level: LiveLogLevel) {
        var base = base
        base.logLevel = .trace  // the live level decides
        self.base = base
        self.level = level
    }

    var logLevel: Logger.Level {
        get { level.current }
        // One logger cannot change the process's level; the configuration does.
        set {}
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) { base.log(event: event) }
}
