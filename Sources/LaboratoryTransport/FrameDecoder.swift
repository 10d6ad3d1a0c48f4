import LaboratoryProtocol
import NIOCore
import Synchronization

/// Splits the inbound byte stream into frame payloads.
///
/// The length prefix is checked against the maximum as soon as its four bytes arrive, before any
/// buffer is sized for the payload: an oversized prefix throws a ``ProtocolError`` with
/// ``CloseReason/Code/frameTooLarge`` and decoding stops.
///
/// A frame that spans several reads is gathered in one buffer sized for it once its valid prefix
/// is known (never for a length over the limit, 4 KiB before acceptance), so each read is appended
/// once instead of the buffer being reallocated and copied as the frame grows.
package struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = ByteBuffer

    private let limit: FrameSizeLimit

    /// A decoder whose maximum never changes.
    package init(maximumPayloadByteCount: Int) {
        self.limit = FrameSizeLimit(maximumPayloadByteCount)
    }

    /// A decoder whose maximum is `limit`'s at the moment each length prefix arrives.
    package init(limit: FrameSizeLimit) {
        self.limit = limit
    }

    /// The most a decoder reserves for a frame's bytes still to come: a frame with a 64 KiB body
    /// fits; beyond it, the buffer grows as the bytes arrive.
    package static let largestReservation = 128 * 1024

    /// Frames up to this size are gathered as their bytes arrive, with no room reserved ahead.
    package static let smallestReservedFrame = 16 * 1024

    package mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        // Read in place: no array for the four bytes.
        guard let prefix = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        let length = try Frame.payloadLength(prefix, maximum: limit.current)
        let frameCount = Frame.headerByteCount + length
        guard buffer.readableBytes >= frameCount else {
            // The rest is still to come: room for the whole frame at once (its length is within
            // the limit), so later reads are appended without the buffer growing again; at most
            // `largestReservation` ahead of the bytes that have arrived, so that a peer declaring
            // large frames cannot make the server hold their full size before sending them.
            // Small frames (every frame before acceptance among them) reserve nothing: the
            // buffer may still hold frames already read, and growing it ahead for each small frame
            // kept those too (250 unauthenticated connections held 20 MiB more).
            if frameCount > Self.smallestReservedFrame {
                buffer.reserveCapacity(
                    minimumWritableBytes: min(frameCount - buffer.readableBytes, Self.largestReservation))
            }
            return nil
        }
        buffer.moveReaderIndex(forwardBy: Frame.headerByteCount)
        return buffer.readSlice(length: length)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

extension ByteBuffer {
    /// A buffer holding `payload` behind its four-byte length prefix, ready to write.
    package static func frame(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Frame.headerByteCount + payload.count)
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }
}

/// The largest frame payload a connection accepts, which can be raised once: a server accepts only
/// handshake-sized frames until the client is accepted, then the session's maximum. Set by the
/// connection, read by its decoder on the event loop.
package final class FrameSizeLimit: Sendable {
    private let value: Atomic<Int>

    package init(_ maximum: Int) { value = Atomic(maximum) }

    /// The maximum now.
    package var current: Int { value.load(ordering: .acquiring) }

    /// From now on, accept payloads up to `maximum` bytes.
    package func raise(to maximum: Int) { value.store(maximum, ordering: .releasing) }
}
