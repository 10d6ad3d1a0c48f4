import Logging

extension Logger {
    /// `server`'s logger with a connection's id and peer attached.
    static func connection(_ id: UInt64, remoteAddress: String?, of server: Logger) -> Logger {
        var logger = server
        logger[metadataKey: "connection"] = "\(id)"
        if let remoteAddress { logger[metadataKey: "peer"] = "\(remoteAddress)" }
        return logger
    }

    /// A connection's logger with the name of the service it serves attached (a client's word).
    static func service(_ name: String, of connection: Logger) -> Logger {
        var logger = connection
        logger[metadataKey: "service"] = .client(name)
        return logger
    }
}
