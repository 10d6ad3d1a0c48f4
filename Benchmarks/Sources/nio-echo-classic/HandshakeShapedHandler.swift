import BenchFraming
import NIOCore

/// The handshake's message exchange in plaintext (``HandshakeShape``), with classic handlers: the
/// hello as soon as the connection is active, one reply of the real size per client frame, and a
/// close after the last. What a handshake costs the server apart from its cryptography and its
/// state: accepting, reading and writing the same frames, and closing.
final class HandshakeShapedHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The client frames answered so far.
    private var answered = 0

    func channelActive(context: ChannelHandlerContext) {
        send(HandshakeShape.helloByteCount, context: context).whenFailure { _ in context.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        let replies = HandshakeShape.serverReplyByteCounts
        guard answered < replies.count, payload.readableBytes == HandshakeShape.clientByteCounts[answered] else {
            // Out of step: end the connection, as the real server does.
            context.close(promise: nil)
            return
        }
        let reply = replies[answered]
        answered += 1
        let written = send(reply, context: context)
        if answered == replies.count {
            written.whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// Writes and flushes one frame of `count` filler payload bytes.
    private func send(_ count: Int, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var frame = context.channel.allocator.buffer(capacity: 4 + count)
        frame.writeInteger(UInt32(count))
        frame.writeRepeatingByte(0x5A, count: count)
        return context.writeAndFlush(wrapOutboundOut(frame))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
