import LaboratoryProtocol
import Logging
import NIOCore

/// A service clients call once their session is accepted: the unit users write.
///
/// Named `LaboratoryService` so that a file importing both Laboratory and ServiceLifecycle (whose
/// protocol for long-running tasks is called `Service`) needs no module prefix.
///
/// A service receives each request's body with a ``LaboratoryServiceContext`` and returns the response
/// body. Bodies are arrays here; a service that moves much data conforms to
/// ``LaboratoryByteBufferService`` instead, whose bodies are `ByteBuffer`s and are not copied. Shared mutable state belongs in an actor the service holds; the service itself is a
/// `Sendable` value. Throw a ``ServiceError`` to send the client a message of your choosing; any
/// other error is logged and the client gets a generic "internal error".
public protocol LaboratoryService: Sendable {
    /// Handles one request and returns the response body.
    ///
    /// Declared `nonisolated(nonsending)`: an implementation that is too (the default in modules
    /// built with the `NonisolatedNonsendingByDefault` feature) runs on the connection's own
    /// executor without a task switch, which is fastest for quick work; a plain `async`
    /// implementation runs as a task of its own on the cooperative pool. Both run on the pool, not
    /// on an event loop; a service that answers at once without suspending can conform to
    /// ``LaboratoryImmediateService`` to be answered on the event loop that read the request.
    nonisolated(nonsending) func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws -> [UInt8]

    /// Called once when an accepted session ends, for cleanup such as leaving chat rooms. The
    /// default does nothing.
    func sessionDidEnd(_ session: SessionIdentity) async

    /// Called when an accepted session changes its display name; `session` carries the new name.
    /// The rename's response reaches the client only after every service has returned. The
    /// default does nothing.
    func sessionDidRename(_ session: SessionIdentity, from oldName: String) async
}

extension LaboratoryService {
    /// Does nothing.
    public func sessionDidEnd(_ session: SessionIdentity) async {}
    /// Does nothing.
    public func sessionDidRename(_ session: SessionIdentity, from oldName: String) async {}
}

/// A service that takes and returns its bodies as `ByteBuffer`s, so that a body need not be
/// copied on its way in or out.
///
/// The server opens each request frame into a buffer and hands the body to
/// `handle(_:context:)` as a slice of it; the buffer returned is sealed straight
/// into the response frame. A service that answers with its request's body, or a slice of it, or
/// writes its answer into a new buffer, touches each byte once, where a ``LaboratoryService``'s
/// array body is copied out of the frame and its answer read again to seal it. Implement only the
/// buffer form; the array form, for callers that hold arrays, copies into and out of it.
///
/// ```swift
/// import Laboratory
/// import NIOCore
///
/// struct ReverseService: LaboratoryByteBufferService {
///     func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws -> ByteBuffer {
///         var reply = ByteBuffer()
///         reply.reserveCapacity(body.readableBytes)
///         reply.writeBytes(body.readableBytesView.reversed())
///         return reply
///     }
/// }
/// ```
///
/// The body may be kept after `handle` returns (it is a value: the bytes stay valid as long as a
/// copy of the buffer does), and holding it keeps the whole opened frame in memory.
public protocol LaboratoryByteBufferService: LaboratoryService {
    /// Handles one request and returns the response body.
    ///
    /// `body` is a slice of the buffer its frame was opened into: its readable bytes are the
    /// request body. The returned buffer's readable bytes are the response body.
    nonisolated(nonsending) func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws
        -> ByteBuffer
}

extension LaboratoryByteBufferService {
    /// Calls the buffer form with a copy of `body` and returns a copy of its answer. The server
    /// never calls it; it serves callers that hold arrays.
    public nonisolated(nonsending) func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws
        -> [UInt8]
    {
        let response = try await handle(ByteBuffer(bytes: body), context: context)
        return Array(response.readableBytesView)
    }
}

/// Who is calling: the accepted session's identity.
public struct SessionIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The server-assigned id, unique for the server's lifetime.
    public var connectionID: UInt64
    /// The peer's address as text, for example `127.0.0.1:52144`, when known.
    public var remoteAddress: String?
    /// The display name the client gave at the handshake.
    public var displayName: String

    /// Creates an identity.
    public init(connectionID: UInt64, remoteAddress: String?, displayName: String) {
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
        self.displayName = displayName
    }

    public var description: String { "#\(connectionID) \"\(displayName)\"" }
}

/// What a service gets with each request.
///
/// Named `LaboratoryServiceContext` so that a file importing both Laboratory and
/// swift-distributed-tracing (whose task-local context is called `ServiceContext`) needs no module
/// prefix.
public struct LaboratoryServiceContext: Sendable {
    /// The calling session, as it was when the request arrived.
    public var session: SessionIdentity
    /// A logger with the connection id and service name attached.
    public var logger: Logger
    /// The name the service is registered under.
    public var serviceName: String
    /// Where to push events to the calling session, now or later: keep it (for example as a chat
    /// room member) to push after the request has returned.
    public var events: EventSink
    /// The server's metrics, for the built-in services (chat rooms, members and deliveries).
    package var metrics: ServerMetrics = .disabled

    /// Creates a context. Servers and test kits build these; services only read them.
    public init(session: SessionIdentity, logger: Logger, serviceName: String, events: EventSink) {
        self.session = session
        self.logger = logger
        self.serviceName = serviceName
        self.events = events
    }

    /// Pushes an event to the calling session, tagged with this service's name.
    ///
    /// - Throws: ``ServiceError/sessionEnded`` if the session has ended or is being disconnected.
    public func push(_ body: [UInt8]) throws {
        guard events.push(ServiceEvent(service: serviceName, body: body)) else { throw ServiceError.sessionEnded }
    }
}

/// A handle for pushing events to one session. It never blocks and never waits: each push is
/// sealed and queued at once, and a session whose queue is full is disconnected as a slow consumer
/// rather than slowing down the pusher.
public struct EventSink: Sendable {
    /// The session this sink delivers to.
    public let connectionID: UInt64
    private let deliver: @Sendable (ServiceEvent) -> Bool
    /// Queues an event already encoded as a frame payload (`ServerMessage.event(_:).encoded()`).
    private let deliverEncoded: (@Sendable ([UInt8]) -> Bool)?
    /// The event loop the session's frames are written on, if the sink knows it. A chat room
    /// pushes each event to its members there, one task per event loop, so that every loop seals
    /// for its own sessions in parallel and a member's frames of one loop tick go out in one write.
    package let eventLoop: (any EventLoop)?

    /// Creates a sink. `deliver` returns `false` once the session cannot take more events.
    public init(connectionID: UInt64, deliver: @escaping @Sendable (ServiceEvent) -> Bool) {
        self.connectionID = connectionID
        self.deliver = deliver
        self.deliverEncoded = nil
        self.eventLoop = nil
    }

    /// A sink that can also take events encoded once for many sessions, and says which event loop
    /// writes its session's frames.
    package init(
        connectionID: UInt64, eventLoop: any EventLoop, deliver: @escaping @Sendable (ServiceEvent) -> Bool,
        deliverEncoded: @escaping @Sendable ([UInt8]) -> Bool
    ) {
        self.connectionID = connectionID
        self.deliver = deliver
        self.deliverEncoded = deliverEncoded
        self.eventLoop = eventLoop
    }

    /// Queues `event` for the session. Returns `false` if the session has ended or was just
    /// disconnected as a slow consumer; the event was not queued.
    @discardableResult
    public func push(_ event: ServiceEvent) -> Bool { deliver(event) }

    /// Queues `event`, whose frame payload `payload` (`ServerMessage.event(event).encoded()`) was
    /// encoded once for every session it goes to. The same result as ``push(_:)``.
    @discardableResult
    package func push(_ event: ServiceEvent, encoded payload: [UInt8]) -> Bool {
        if let deliverEncoded { return deliverEncoded(payload) }
        return deliver(event)
    }
}

/// An error a service throws to tell the client what went wrong, in its own words.
public struct ServiceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message sent to the client.
    public var message: String
    /// Set when the request was refused only because the session makes that kind of request too
    /// often: the client may send it again after this long. Such an error is answered with status
    /// `rejected` and the delay in the body (PROTOCOL.md §12, *Request rates*), not `service error`.
    public var retryAfter: Duration?

    /// Creates an error whose message the client will see.
    public init(_ message: String) { self.message = message }

    /// A refusal because the session makes some kind of request too often; `message` says which
    /// limit, and the client is told to retry after `retryAfter`.
    public static func rateLimited(_ message: String, retryAfter: Duration) -> ServiceError {
        var error = ServiceError("rate limited: \(message); retry in \(retryAfter.retryMilliseconds) ms")
        error.retryAfter = retryAfter
        return error
    }

    public var description: String { message }

    /// The session the service tried to reach has already ended.
    public static let sessionEnded = ServiceError("the session has ended")
}
