/// The part of a `request` (0x90) before its body, read from or written to raw memory, so that a
/// body can stay where it lies: in the buffer the frame was opened into, or in the buffer a
/// service returned. Same layout as ``ClientMessage/request(_:)`` (`Docs/PROTOCOL.md` §10).
@_spi(Benchmarks) public struct RequestHead: Hashable, Sendable {
    /// The request's id.
    public var id: UInt64
    /// The name of the service it calls.
    public var service: String

    /// Creates a head.
    public init(id: UInt64, service: String) {
        self.id = id
        self.service = service
    }

    /// Reads a request from a whole opened frame payload: its head, and where its body lies in
    /// `payload`. Returns `nil` if the payload is another message (its first byte is not 0x90).
    /// Checks the layout exactly as ``ClientMessage/init(decoding:)`` does, trailing bytes included.
    public static func decode(_ payload: UnsafeRawBufferPointer) throws -> (head: RequestHead, body: Range<Int>)? {
        var reader = ByteReader(payload)
        guard try reader.readUInt8("message type") == 0x90 else { return nil }
        let id = try reader.readUInt64("request id")
        let service = try reader.readString("service")
        let body = try reader.readByteStringRange("body")
        try reader.expectEnd("client message 0x90")
        return (RequestHead(id: id, service: service), body)
    }

    /// The bytes ``encode(bodyCount:into:)`` writes.
    public var encodedByteCount: Int { 1 + 8 + 2 + service.utf8.count + 4 }

    /// Writes the head of a request whose body of `bodyCount` bytes follows it; `output` must be
    /// ``encodedByteCount`` bytes. The service name must be at most 65,535 bytes (registered names
    /// are at most 64).
    public func encode(bodyCount: Int, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count == encodedByteCount, "output must be the head's size")
        var writer = ByteSpanWriter(output)
        writer.write(UInt8(0x90))
        writer.write(id)
        writer.write(string: service)
        writer.write(UInt32(bodyCount))
    }
}

/// The part of a `response` (0x10) before its body; the counterpart of ``RequestHead``. Same
/// layout as ``ServerMessage/response(_:)``.
@_spi(Benchmarks) public struct ResponseHead: Hashable, Sendable {
    /// The id of the request this answers.
    public var requestID: UInt64
    /// The outcome.
    public var status: ResponseStatus
    /// Empty on success; on failure, what went wrong.
    public var errorMessage: String

    /// Creates a head.
    public init(requestID: UInt64, status: ResponseStatus, errorMessage: String = "") {
        self.requestID = requestID
        self.status = status
        self.errorMessage = errorMessage
    }

    /// The error message as it goes on the wire: at most 65,535 bytes of UTF-8, cut at a
    /// character boundary (as ``ServerMessage/encoded()`` cuts it).
    private var wireMessage: Substring.UTF8View {
        let utf8 = errorMessage.utf8
        guard utf8.count > Int(UInt16.max) else { return Substring(errorMessage).utf8 }
        var end = utf8.index(utf8.startIndex, offsetBy: Int(UInt16.max))
        // Back up over UTF-8 continuation bytes (10xxxxxx) to a character boundary.
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        return Substring(errorMessage)[..<end].utf8
    }

    /// The bytes ``encode(bodyCount:into:)`` writes.
    public var encodedByteCount: Int { 1 + 8 + 2 + 2 + wireMessage.count + 4 }

    /// Writes the head of a response whose body of `bodyCount` bytes follows it; `output` must be
    /// ``encodedByteCount`` bytes.
    public func encode(bodyCount: Int, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count == encodedByteCount, "output must be the head's size")
        precondition(bodyCount <= Int(UInt32.max), "byte string longer than 4 GiB")
        var writer = ByteSpanWriter(output)
        writer.write(UInt8(0x10))
        writer.write(requestID)
        writer.write(status.rawValue)
        let message = wireMessage
        writer.write(UInt16(message.count))
        writer.write(bytes: message)
        writer.write(UInt32(bodyCount))
    }

    /// Reads a response from a whole opened frame payload: its head, and where its body lies in
    /// `payload`. Returns `nil` if the payload is another message (its first byte is not 0x10).
    public static func decode(_ payload: UnsafeRawBufferPointer) throws -> (head: ResponseHead, body: Range<Int>)? {
        var reader = ByteReader(payload)
        guard try reader.readUInt8("message type") == 0x10 else { return nil }
        let id = try reader.readUInt64("request id")
        let status = ResponseStatus(rawValue: try reader.readUInt16("status"))
        let message = try reader.readString("error message")
        let body = try reader.readByteStringRange("body")
        try reader.expectEnd("server message 0x10")
        return (ResponseHead(requestID: id, status: status, errorMessage: message), body)
    }
}
