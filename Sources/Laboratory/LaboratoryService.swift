import Logging

/// A service clients call once their session is accepted: the unit users write.
///
/// Named `LaboratoryService` so that a file importing both Laboratory and ServiceLifecycle (whose
/// protocol for long-running tasks is called `Service`) needs no module prefix.
///
/// A service receives each request's body with a ``ServiceContext`` and returns the response
/// body. Shared mutable state belongs in an actor the service holds; the service itself is a
/// `Sendable` value. Throw a ``ServiceError`` to send the client a message of your choosing; any
/// other error is logged and the client gets a generic "internal error".
public protocol LaboratoryService: Sendable {
    /// Handles one request and returns the response body.
    func handle(_ body: [UInt8], context: ServiceContext) async throws -> [UInt8]

    /// Called once when an accepted session that could have used this service ends, for cleanup
    /// such as leaving chat rooms. The default does nothing.
    func sessionDidEnd(_ session: SessionIdentity) async
}

extension LaboratoryService {
    public func sessionDidEnd(_ session: SessionIdentity) async {}
}

/// Who is calling: the accepted session's identity.
public struct SessionIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The server-assigned id, unique for the server's lifetime.
    public var connectionID: UInt64
    /// The peer's address as text, for example `127.0.0.1:52144`, when known.
    public var remoteAddress: String?
    /// The display name the client gave at the handshake.
    public var displayName: String

    public init(connectionID: UInt64, remoteAddress: String?, displayName: String) {
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
        self.displayName = displayName
    }

    public var description: String { "#\(connectionID) \"\(displayName)\"" }
}

/// What a service gets with each request.
public struct ServiceContext: Sendable {
    /// The calling session.
    public var session: SessionIdentity
    /// A logger with the connection id and service name attached.
    public var logger: Logger
    /// The name the service is registered under.
    public var serviceName: String
    private let pushEvent: @Sendable (ServiceEvent) async throws -> Void

    /// Creates a context. Servers and test kits build these; services only read them.
    public init(
        session: SessionIdentity, logger: Logger, serviceName: String,
        push: @escaping @Sendable (ServiceEvent) async throws -> Void
    ) {
        self.session = session
        self.logger = logger
        self.serviceName = serviceName
        self.pushEvent = push
    }

    /// Pushes an event to this session, tagged with this service's name.
    ///
    /// - Throws: ``ServiceError`` if the session has ended.
    public func push(_ body: [UInt8]) async throws {
        try await pushEvent(ServiceEvent(service: serviceName, body: body))
    }
}

/// An error a service throws to tell the client what went wrong, in its own words.
public struct ServiceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message sent to the client.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// The session the service tried to reach has already ended.
    public static let sessionEnded = ServiceError("the session has ended")
}
