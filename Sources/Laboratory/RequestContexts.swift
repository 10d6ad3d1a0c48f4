import Logging

/// What every request of one session shares in its ``LaboratoryServiceContext``: the event sink
/// services keep to push to the session, and the connection's logger with each service's name
/// attached. Built at the session's first request and kept by its ``SessionReceiver``.
final class RequestContexts {
    /// The handle services keep to push events to this session (a new one per request cost a
    /// closure allocation each time).
    let events: EventSink
    private let connectionLogger: Logger
    private let metrics: ServerMetrics
    /// Loggers by service name. Setting metadata makes StreamLogHandler re-render all of it, which
    /// per request cost about a tenth of a 64-byte echo round trip. Names come from the client, so
    /// only the first 64 are kept; later ones are built each time.
    private var loggers: [String: Logger] = [:]
    /// The last one used, kept apart: a session mostly calls one service, and comparing two short
    /// names costs less than hashing one for the dictionary.
    private var last: (service: String, logger: Logger)?

    init(identity: SessionIdentity, outbound: Outbound, environment: ConnectionEnvironment) {
        events = .sending(to: outbound, connectionID: identity.connectionID)
        connectionLogger = .connection(
            identity.connectionID, remoteAddress: identity.remoteAddress, of: environment.logger)
        metrics = environment.metrics
    }

    /// The context for a request to `service` from `session` (as it is now: renames included).
    func context(for service: String, session: SessionIdentity) -> LaboratoryServiceContext {
        var context = LaboratoryServiceContext(
            session: session, logger: logger(for: service), serviceName: service, events: events)
        context.metrics = metrics
        return context
    }

    private func logger(for service: String) -> Logger {
        if let last, last.service == service { return last.logger }
        let logger: Logger
        if let known = loggers[service] {
            logger = known
        } else {
            logger = .service(service, of: connectionLogger)
            if loggers.count < 64 { loggers[service] = logger }
        }
        last = (service, logger)
        return logger
    }
}
