import LaboratoryProtocol
import NIOCore

/// Splits the inbound byte stream into frame payloads.
///
/// The length prefix is checked against the maximum as soon as its four bytes arrive, before any
/// buffer is sized for the payload: an oversized prefix throws a ``ProtocolError`` with
/// ``CloseReason/Code/frameTooLarge`` and decoding stops.
package struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = ByteBuffer

    private let maximumPayloadByteCount: Int

    package init(maximumPayloadByteCount: Int) {
        self.maximumPayloadByteCount = maximumPayloadByteCount
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let header = buffer.getBytes(at: buffer.readerIndex, length: Frame.headerByteCount) else { return nil }
        let length = try Frame.payloadLength(header: header, maximum: maximumPayloadByteCount)
        guard buffer.readableBytes >= Frame.headerByteCount + length else { return nil }
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
