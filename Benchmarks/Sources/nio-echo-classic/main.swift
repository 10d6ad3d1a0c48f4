// Baseline: a plaintext echo server with classic ChannelHandlers and the same 4-byte framing as
// Laboratory. Every frame received is written back as one frame; flushes are batched per read.
// With `--handshake-shaped` it plays the handshake's message exchange in plaintext instead
// (HandshakeShapedHandler). It prints `Listening on HOST:PORT` once bound and runs until killed.
import BenchFraming
import NIOCore
import NIOPosix

final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var pending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        var frame = context.channel.allocator.buffer(capacity: 4 + payload.readableBytes)
        frame.writeFrame(payload)
        context.write(wrapOutboundOut(frame), promise: nil)
        pending = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending {
            pending = false
            context.flush()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

let (host, port) = baselineArguments()
let handshakeShaped = baselineHandshakeShaped()
let group = MultiThreadedEventLoopGroup.singleton
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(.backlog, value: 256)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
            if handshakeShaped {
                try channel.pipeline.syncOperations.addHandler(HandshakeShapedHandler())
            } else {
                try channel.pipeline.syncOperations.addHandler(EchoHandler())
            }
        }
    }
    .bind(host: host, port: port)
    .wait()
let address = channel.localAddress!
announce("Listening on \(address.ipAddress ?? host):\(address.port ?? port)")
try channel.closeFuture.wait()
