@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore

/// A request or response body on its way between the connection and a service, in whichever form
/// it already has: an array (a ``LaboratoryService``'s answer, or a test's request) or a buffer (a
/// request body still in the buffer its frame was opened into, or a
/// ``LaboratoryByteBufferService``'s answer). Converted only when a service needs the other form.
package enum ServiceBody: Sendable {
    case bytes([UInt8])
    case buffer(ByteBuffer)

    /// No body.
    package static let empty = ServiceBody.bytes([])

    /// The body's size in bytes.
    package var count: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .buffer(let buffer): buffer.readableBytes
        }
    }

    /// The body as an array: no copy if it is one.
    package var array: [UInt8] {
        switch self {
        case .bytes(let bytes): bytes
        case .buffer(let buffer): Array(buffer.readableBytesView)
        }
    }

    /// The body as a buffer: no copy if it is one.
    package var buffer: ByteBuffer {
        switch self {
        case .bytes(let bytes): ByteBuffer(bytes: bytes)
        case .buffer(let buffer): buffer
        }
    }

    /// Calls `body` with the body's bytes where they lie.
    package func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch self {
        case .bytes(let bytes): try bytes.withUnsafeBytes(body)
        case .buffer(let buffer): try buffer.withUnsafeReadableBytes(body)
        }
    }
}

/// A request as the connection hands it to its service: the head decoded from the opened frame,
/// the body a slice of the buffer the frame was opened into (no copy).
struct ServiceRequest: Sendable {
    var head: RequestHead
    var body: ByteBuffer

    var id: UInt64 { head.id }
    var service: String { head.service }
}

extension ResponseHead {
    /// The frame for a response in a session without encryption: the length prefix, the head,
    /// the body.
    func plaintextFrame(body: ServiceBody, allocator: ByteBufferAllocator) -> ByteBuffer {
        let headCount = encodedByteCount
        let payloadCount = headCount + body.count
        var buffer = allocator.buffer(capacity: Frame.headerByteCount + payloadCount)
        buffer.writeInteger(UInt32(payloadCount))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: headCount) { output in
            encode(bodyCount: body.count, into: UnsafeMutableRawBufferPointer(rebasing: output.prefix(headCount)))
            return headCount
        }
        switch body {
        case .bytes(let bytes): buffer.writeBytes(bytes)
        case .buffer(let slice): buffer.writeImmutableBuffer(slice)
        }
        return buffer
    }
}

extension RecordOpener {
    /// Opens a sealed frame read where it lies into a new buffer from `allocator`, which the
    /// request's body then stays in (as a slice) until the service is done with it.
    func open(_ frame: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let count = frame.readableBytes - AES256GCM.tagByteCount
        guard count >= 0 else {
            throw ProtocolError(
                CloseReason(
                    .decryptionFailed,
                    "frame \(counter) did not authenticate (tampered, replayed, reordered or wrong key)"))
        }
        var plaintext = allocator.buffer(capacity: count)
        try frame.withUnsafeReadableBytes { sealed in
            _ = try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { output in
                try open(sealed, into: UnsafeMutableRawBufferPointer(rebasing: output.prefix(count)))
                return count
            }
        }
        return plaintext
    }
}
