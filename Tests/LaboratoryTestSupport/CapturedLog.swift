import Logging
import Synchronization

/// Every event logged through ``logger``, kept for a test to read: a real `LogHandler` that the
/// server under test logs through like any other.
package final class CapturedLog: Sendable {
    /// One logged event, with the logger's metadata and the call's merged.
    package struct Event: Sendable {
        package let level: Logger.Level
        package let label: String
        package let message: String
        package let metadata: Logger.Metadata

        /// The event as swift-log's `StreamLogHandler` writes it (its format, without the
        /// timestamp and source): `level label: key=value … message`, keys sorted.
        package var textLine: String {
            let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return "\(level) \(label):\(fields.map { " " + $0 }.joined()) \(message)"
        }
    }

    private struct State {
        var events: [Event] = []
        var waiters: [(message: String, count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    package init() {}

    /// A logger at `level` whose events this log keeps.
    package func logger(label: String = "test.server", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in Handler(label: label, log: self) }
        logger.logLevel = level
        return logger
    }

    package var all: [Event] { state.withLock { $0.events } }

    /// The events whose message is `message`.
    package func events(_ message: String) -> [Event] { all.filter { $0.message == message } }

    /// Returns once `count` events with message `message` have been logged.
    package func waitFor(_ message: String, count: Int = 1) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.events.count(where: { $0.message == message }) >= count { return true }
                state.waiters.append((message, count, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    fileprivate func append(_ event: Event) {
        let ready = state.withLock { state in
            state.events.append(event)
            let events = state.events
            let ready = state.waiters.filter { waiter in
                events.count(where: { $0.message == waiter.message }) >= waiter.count
            }
            state.waiters.removeAll { waiter in
                events.count(where: { $0.message == waiter.message }) >= waiter.count
            }
            return ready.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    private struct Handler: LogHandler {
        let label: String
        let log: CapturedLog
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.append(
                Event(
                    level: event.level, label: label, message: "\(event.message)",
                    metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
        }
    }
}
