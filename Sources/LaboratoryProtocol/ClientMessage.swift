/// Messages the client sends once the key exchange is done. Each is one frame; the first byte is
/// its type. Layouts are in `Docs/PROTOCOL.md`.
@_spi(Benchmarks) public enum ClientMessage: Hashable, Sendable {
    /// The server password, answering ``ServerMessage/passwordPrompt``. (0x81)
    case password(String)
    /// The display name, answering ``ServerMessage/namePrompt``. (0x82)
    case name(String)
    /// A call to a service. (0x90)
    case request(Request)
    /// "What is the server's name?" (0x92)
    case serverNameQuery
    /// A liveness probe; the server answers ``ServerMessage/pong(_:)``. (0x93)
    case ping(UInt64)
    /// The answer to ``ServerMessage/ping(_:)``. (0x94)
    case pong(UInt64)
    /// The client is done: the server finishes outstanding requests, then closes. (0x95)
    case bye
    /// Change this session's display name; answered by a ``ServerMessage/response(_:)`` with the
    /// same id (empty body on success). (0x96)
    case rename(requestID: UInt64, name: String)
    /// The client's sending direction switches to new keys after this frame. (0x97)
    case keyUpdate(KeyUpdate)

    /// Encodes the message as a frame payload (before sealing).
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .password(let password):
            writer.write(UInt8(0x81))
            writer.write(string: password)
        case .name(let name):
            writer.write(UInt8(0x82))
            writer.write(string: name)
        case .request(let request):
            writer = ByteWriter(capacity: 24 + request.service.utf8.count + request.body.count)
            writer.write(UInt8(0x90))
            writer.write(request.id)
            writer.write(string: request.service)
            writer.write(byteString: request.body)
        case .serverNameQuery: writer.write(UInt8(0x92))
        case .ping(let value):
            writer.write(UInt8(0x93))
            writer.write(value)
        case .pong(let value):
            writer.write(UInt8(0x94))
            writer.write(value)
        case .bye: writer.write(UInt8(0x95))
        case .rename(let id, let name):
            writer.write(UInt8(0x96))
            writer.write(id)
            writer.write(string: name)
        case .keyUpdate(let update):
            writer.write(UInt8(0x97))
            update.encode(into: &writer)
        }
        return writer.bytes
    }

    /// Decodes a frame payload (after opening).
    public init(decoding payload: [UInt8]) throws {
        var reader = ByteReader(payload)
        let type = try reader.readUInt8("message type")
        switch type {
        case 0x81: self = .password(try reader.readString("password"))
        case 0x82: self = .name(try reader.readString("name"))
        case 0x90:
            let id = try reader.readUInt64("request id")
            let service = try reader.readString("service")
            self = .request(Request(id: id, service: service, body: try reader.readByteString("body")))
        case 0x92: self = .serverNameQuery
        case 0x93: self = .ping(try reader.readUInt64("ping value"))
        case 0x94: self = .pong(try reader.readUInt64("pong value"))
        case 0x95: self = .bye
        case 0x96:
            let id = try reader.readUInt64("request id")
            self = .rename(requestID: id, name: try reader.readString("name"))
        case 0x97: self = .keyUpdate(try KeyUpdate(reading: &reader))
        default: throw ProtocolError.malformed("unknown client message type 0x\(String(type, radix: 16))")
        }
        try reader.expectEnd("client message 0x\(String(type, radix: 16))")
    }

    /// A short name for logs and errors, never containing secrets.
    public var kind: String {
        switch self {
        case .password: "password"
        case .name: "name"
        case .request: "request"
        case .serverNameQuery: "server name query"
        case .ping: "ping"
        case .pong: "pong"
        case .bye: "bye"
        case .rename: "rename"
        case .keyUpdate: "key update"
        }
    }
}

/// A call to a service.
@_spi(Benchmarks) public struct Request: Hashable, Sendable {
    /// Chosen by the client; the response carries it back. Ids of outstanding requests are unique.
    public var id: UInt64
    /// The name the service is registered under.
    public var service: String
    /// The service-defined payload.
    public var body: [UInt8]

    /// Creates a request.
    public init(id: UInt64, service: String, body: [UInt8]) {
        self.id = id
        self.service = service
        self.body = body
    }
}
