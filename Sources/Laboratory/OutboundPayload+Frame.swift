@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore

extension OutboundPayload {
    /// The sealed frame's size for a payload of `byteCount` bytes: the length prefix, the
    /// ciphertext and the tag.
    static func sealedFrameByteCount(payload byteCount: Int) -> Int {
        Frame.headerByteCount + byteCount + AES256GCM.tagByteCount
    }

    /// Appends the payload, of `byteCount` bytes (its ``byteCount``, which the caller has worked
    /// out already), to `buffer` as one sealed frame: the length prefix, then the ciphertext and
    /// tag written by the cipher straight into the buffer (see ``seal(into:_:)``). If sealing
    /// fails, `buffer` is left as it was: no half frame in a buffer that other frames share.
    func writeSealedFrame(into buffer: inout ByteBuffer, byteCount: Int, _ sealer: RecordSealer) throws {
        let sealedCount = byteCount + AES256GCM.tagByteCount
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(sealedCount))
        do {
            _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedCount) { output in
                try seal(into: UnsafeMutableRawBufferPointer(rebasing: output.prefix(sealedCount)), sealer)
                return sealedCount
            }
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
    }
}

extension ResponseHead {
    /// The sealed frame a session's `Outbound` sends for this response with `body` when nothing
    /// else is waiting: a buffer of the frame's size, the length prefix, the head encoded into the
    /// buffer and sealed there with the body read where it lies. The same code, without the
    /// channel and the queue, for the Benchmarks package's micro-benchmarks.
    @_spi(Benchmarks) public func sealedFrame(
        body: ByteBuffer, sealer: RecordSealer, allocator: ByteBufferAllocator
    ) throws -> ByteBuffer {
        let payload = OutboundPayload.response(self, body: .buffer(body))
        let byteCount = payload.byteCount
        var buffer = allocator.buffer(capacity: OutboundPayload.sealedFrameByteCount(payload: byteCount))
        try payload.writeSealedFrame(into: &buffer, byteCount: byteCount, sealer)
        return buffer
    }
}
