import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The wire framing Laboratory uses, repeated here so the baselines and the load generator share
/// exactly the same decoder: a 4-byte big-endian length, then that many payload bytes.
public struct LengthPrefixedFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maximumPayloadByteCount: Int

    public init(maximumPayloadByteCount: Int = 1 << 20) {
        self.maximumPayloadByteCount = maximumPayloadByteCount
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) <= maximumPayloadByteCount else { throw FrameTooLarge(length: Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

public struct FrameTooLarge: Error, CustomStringConvertible {
    public var length: Int
    public var description: String { "frame of \(length) bytes is too large" }
}

extension ByteBuffer {
    /// Appends `payload` as one frame (length prefix, then the bytes).
    @inlinable
    public mutating func writeFrame(_ payload: ByteBuffer) {
        writeInteger(UInt32(payload.readableBytes))
        writeImmutableBuffer(payload)
    }

    /// Appends `payload` as one frame (length prefix, then the bytes).
    @inlinable
    public mutating func writeFrame(_ payload: some Collection<UInt8>) {
        writeInteger(UInt32(payload.count))
        writeBytes(payload)
    }
}

/// Parses `--port N` (default 0) and `--host H` from the command line; shared by the baselines.
public func baselineArguments() -> (host: String, port: Int) {
    var host = "127.0.0.1"
    var port = 0
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--port": port = Int(arguments.next() ?? "") ?? 0
        case "--host": host = arguments.next() ?? host
        default: break
        }
    }
    return (host, port)
}

/// Whether `--handshake-shaped` was given: the baseline plays the handshake's message exchange in
/// plaintext (``HandshakeShape``) instead of echoing.
public func baselineHandshakeShaped() -> Bool {
    CommandLine.arguments.dropFirst().contains("--handshake-shaped")
}

/// Prints a line to standard output and flushes at once, so a parent reading a pipe sees it.
public func announce(_ line: String) {
    print(line)
    fflush(nil)
}
