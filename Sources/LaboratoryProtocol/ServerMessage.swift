/// Messages the server sends once the key exchange is done. Each is one frame; the first byte is
/// its type. Layouts are in `Docs/PROTOCOL.md`.
@_spi(Benchmarks) public enum ServerMessage: Hashable, Sendable {
    /// "Send the server password." (0x01)
    case passwordPrompt
    /// "Send your display name." (0x02)
    case namePrompt
    /// The handshake succeeded. (0x03)
    case accepted(Acceptance)
    /// The server is about to close the connection, and why. (0x04)
    case closing(CloseReason)
    /// The answer to a request. (0x10)
    case response(Response)
    /// An event a service pushed to this session. (0x11)
    case event(ServiceEvent)
    /// The answer to ``ClientMessage/serverNameQuery``. (0x12)
    case serverName(String)
    /// A liveness probe; the client answers ``ClientMessage/pong(_:)`` with the same value. (0x13)
    case ping(UInt64)
    /// The answer to ``ClientMessage/ping(_:)``. (0x14)
    case pong(UInt64)
    /// The server is shutting down and will close this session after the grace period. (0x15)
    case serverStopping(graceMilliseconds: UInt32)
    /// The server's sending direction switches to new keys after this frame. (0x16)
    case keyUpdate(KeyUpdate)
    /// The display name broke the name rules; the client may send another `name`. (0x17)
    case nameRejected(NameRejection)

    /// Encodes the message as a frame payload (before sealing).
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .passwordPrompt: writer.write(UInt8(0x01))
        case .namePrompt: writer.write(UInt8(0x02))
        case .accepted(let acceptance):
            writer.write(UInt8(0x03))
            writer.write(acceptance.connectionID)
            writer.write(string: acceptance.serverName)
            writer.write(UInt16(acceptance.services.count))
            for service in acceptance.services { writer.write(string: service) }
        case .closing(let reason):
            writer.write(UInt8(0x04))
            writer.write(reason.code.rawValue)
            writer.write(string: reason.message)
            // Only a refusal carries the time until the source may connect again.
            if reason.code == .refused, let retryAfter = reason.retryAfter {
                writer.write(retryAfter.retryMilliseconds)
            }
        case .response(let response):
            writer = ByteWriter(capacity: 32 + response.body.count)
            Self.write(response, into: &writer)
        case .event(let event):
            writer = ByteWriter(capacity: 16 + event.service.utf8.count + event.body.count)
            Self.write(event, into: &writer)
        case .serverName(let name):
            writer.write(UInt8(0x12))
            writer.write(string: name)
        case .ping(let value):
            writer.write(UInt8(0x13))
            writer.write(value)
        case .pong(let value):
            writer.write(UInt8(0x14))
            writer.write(value)
        case .serverStopping(let grace):
            writer.write(UInt8(0x15))
            writer.write(grace)
        case .keyUpdate(let update):
            writer.write(UInt8(0x16))
            update.encode(into: &writer)
        case .nameRejected(let rejection):
            writer.write(UInt8(0x17))
            writer.write(string: rejection.reason)
            writer.write(rejection.attemptsLeft)
        }
        return writer.bytes
    }

    /// The size of ``encoded()`` for the messages that ``encode(into:)`` can write straight into
    /// the frame buffer (responses and events, the per-request and per-delivery messages), or
    /// `nil` for the others, which go through ``encoded()``. Also `nil` for a string longer than a
    /// u16 length, which ``encoded()`` cuts at a character boundary.
    package var inPlaceByteCount: Int? {
        switch self {
        case .response(let response):
            let message = response.errorMessage.utf8.count
            guard message <= Int(UInt16.max) else { return nil }
            return 1 + 8 + 2 + 2 + message + 4 + response.body.count
        case .event(let event):
            let service = event.service.utf8.count
            guard service <= Int(UInt16.max) else { return nil }
            return 1 + 2 + service + 4 + event.body.count
        default:
            return nil
        }
    }

    /// Writes the same bytes as ``encoded()`` into `output`, which must be exactly
    /// ``inPlaceByteCount`` bytes (and that must not be `nil`): no array, no copy afterwards.
    package func encode(into output: UnsafeMutableRawBufferPointer) {
        var writer = ByteSpanWriter(output)
        switch self {
        case .response(let response): Self.write(response, into: &writer)
        case .event(let event): Self.write(event, into: &writer)
        default: preconditionFailure("encode(into:) is only for responses and events")
        }
        precondition(writer.count == output.count, "encode(into:) needs exactly inPlaceByteCount bytes")
    }

    /// A response's layout (0x10), for ``encoded()`` and ``encode(into:)`` alike.
    private static func write(_ response: Response, into writer: inout some FieldWriter) {
        writer.write(UInt8(0x10))
        writer.write(response.requestID)
        writer.write(response.status.rawValue)
        writer.write(string: response.errorMessage)
        writer.write(byteString: response.body)
    }

    /// An event's layout (0x11), for ``encoded()`` and ``encode(into:)`` alike.
    private static func write(_ event: ServiceEvent, into writer: inout some FieldWriter) {
        writer.write(UInt8(0x11))
        writer.write(string: event.service)
        writer.write(byteString: event.body)
    }

    /// Decodes a frame payload (after opening).
    public init(decoding payload: [UInt8]) throws {
        var reader = ByteReader(payload)
        let type = try reader.readUInt8("message type")
        switch type {
        case 0x01: self = .passwordPrompt
        case 0x02: self = .namePrompt
        case 0x03:
            let id = try reader.readUInt64("connection id")
            let name = try reader.readString("server name")
            let count = try reader.readUInt16("service count")
            var services: [String] = []
            for _ in 0..<count { services.append(try reader.readString("service name")) }
            self = .accepted(Acceptance(connectionID: id, serverName: name, services: services))
        case 0x04:
            let code = CloseReason.Code(rawValue: try reader.readUInt16("close code"))
            var reason = CloseReason(code, try reader.readString("close message"))
            // A refusal may carry `retry_ms: u32` (a locked-out source); nothing else has a tail.
            if code == .refused, reader.remaining > 0 {
                let milliseconds = try reader.readUInt32("retry time")
                guard milliseconds > 0 else { throw ProtocolError.malformed("a refusal's retry_ms is 0") }
                reason.retryAfter = .milliseconds(milliseconds)
            }
            self = .closing(reason)
        case 0x10:
            let id = try reader.readUInt64("request id")
            let status = Response.Status(rawValue: try reader.readUInt16("status"))
            let message = try reader.readString("error message")
            let body = try reader.readByteString("body")
            self = .response(Response(requestID: id, status: status, errorMessage: message, body: body))
        case 0x11:
            let service = try reader.readString("service")
            self = .event(ServiceEvent(service: service, body: try reader.readByteString("body")))
        case 0x12: self = .serverName(try reader.readString("server name"))
        case 0x13: self = .ping(try reader.readUInt64("ping value"))
        case 0x14: self = .pong(try reader.readUInt64("pong value"))
        case 0x15: self = .serverStopping(graceMilliseconds: try reader.readUInt32("grace period"))
        case 0x16: self = .keyUpdate(try KeyUpdate(reading: &reader))
        case 0x17:
            let reason = try reader.readString("rejection reason")
            self = .nameRejected(NameRejection(reason: reason, attemptsLeft: try reader.readUInt8("attempts left")))
        default: throw ProtocolError.malformed("unknown server message type 0x\(String(type, radix: 16))")
        }
        try reader.expectEnd("server message 0x\(String(type, radix: 16))")
    }
}

/// Why the server refused a display name during the handshake, and how many more names it takes.
public struct NameRejection: Hashable, Sendable {
    /// The rule the name broke, in words for the person who chose it.
    public var reason: String
    /// How many more `name` messages the server will consider before it closes with code 7.
    public var attemptsLeft: UInt8

    /// Creates a rejection.
    public init(reason: String, attemptsLeft: UInt8) {
        self.reason = reason
        self.attemptsLeft = attemptsLeft
    }
}

/// What the server tells an accepted client.
public struct Acceptance: Hashable, Sendable {
    /// The server's id for this connection, unique for the server's lifetime.
    public var connectionID: UInt64
    /// The server's configured name.
    public var serverName: String
    /// The names of the services the server offers.
    public var services: [String]

    /// Creates an acceptance.
    public init(connectionID: UInt64, serverName: String, services: [String]) {
        self.connectionID = connectionID
        self.serverName = serverName
        self.services = services
    }
}

/// Whether a request succeeded, and if not, why: the status of a response. Zero is success.
public struct ResponseStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The service returned a body.
    public static let ok = ResponseStatus(rawValue: 0)
    /// No service is registered under the requested name.
    public static let unknownService = ResponseStatus(rawValue: 1)
    /// The service failed with an error it chose to report.
    public static let serviceError = ResponseStatus(rawValue: 2)
    /// The service failed unexpectedly; details are in the server's log only.
    public static let internalError = ResponseStatus(rawValue: 3)
    /// The request was not acceptable (for example too many outstanding requests).
    public static let rejected = ResponseStatus(rawValue: 4)

    public var description: String {
        switch self {
        case .ok: "ok"
        case .unknownService: "unknown service"
        case .serviceError: "service error"
        case .internalError: "internal error"
        case .rejected: "rejected"
        default: "status \(rawValue)"
        }
    }
}

/// The answer to a request.
@_spi(Benchmarks) public struct Response: Hashable, Sendable {
    /// Whether the request succeeded, and if not, why.
    public typealias Status = ResponseStatus

    /// The id of the request this answers.
    public var requestID: UInt64
    /// The outcome.
    public var status: Status
    /// Empty on success; on failure, what went wrong.
    public var errorMessage: String
    /// The service's answer on success; empty otherwise.
    public var body: [UInt8]

    /// Creates a response.
    public init(requestID: UInt64, status: Status, errorMessage: String = "", body: [UInt8] = []) {
        self.requestID = requestID
        self.status = status
        self.errorMessage = errorMessage
        self.body = body
    }
}

/// An event a service pushes to one session.
public struct ServiceEvent: Hashable, Sendable {
    /// The name of the service that pushed it.
    public var service: String
    /// The service-defined payload.
    public var body: [UInt8]

    /// Creates an event.
    public init(service: String, body: [UInt8]) {
        self.service = service
        self.body = body
    }
}
