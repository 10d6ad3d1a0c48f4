import BenchFraming
import NIOCore

extension AsyncEchoServer {
    /// The handshake's message exchange in plaintext (``HandshakeShape``), in the connection's
    /// task: the hello at once, one reply of the real size per client frame, and a close after the
    /// last (leaving `executeThenClose`). A frame out of step ends the connection.
    static func serveHandshakeShaped(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                let allocator = connection.channel.allocator
                func frame(_ count: Int) -> ByteBuffer {
                    var frame = allocator.buffer(capacity: 4 + count)
                    frame.writeInteger(UInt32(count))
                    frame.writeRepeatingByte(0x5A, count: count)
                    return frame
                }
                try await outbound.write(frame(HandshakeShape.helloByteCount))
                var answered = 0
                for try await payload in inbound {
                    guard payload.readableBytes == HandshakeShape.clientByteCounts[answered] else { return }
                    try await outbound.write(frame(HandshakeShape.serverReplyByteCounts[answered]))
                    answered += 1
                    if answered == HandshakeShape.serverReplyByteCounts.count { return }
                }
            }
        } catch {
            // A failing connection ends alone.
        }
    }
}
