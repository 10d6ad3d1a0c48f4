import Foundation
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOWebSocket

/// How a WebSocket upgrade request through `GET /v1/ws` went.
package enum WebSocketUpgrade {
    /// 101: a ``RawClient`` whose frames travel in binary WebSocket messages, and the WebSocket's
    /// own side (pings, raw frames, the closing status).
    case upgraded(RawClient, WebSocketSide)
    /// Any other status, with the response head.
    case refused(status: Int, head: String)
}

/// The WebSocket layer of a test client: what a ``RawClient`` over WebSocket cannot see through
/// its frames.
package final class WebSocketSide: Sendable {
    let bridge: WebSocketFrameBridge
    let channel: any Channel

    init(bridge: WebSocketFrameBridge, channel: any Channel) {
        self.bridge = bridge
        self.channel = channel
    }

    /// Sends one WebSocket frame as given (masked, as a client must).
    package func send(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) async throws {
        let frame = WebSocketFrame(
            fin: fin, opcode: opcode, maskKey: .random(), data: ByteBuffer(bytes: payload))
        try await channel.eventLoop.flatSubmit { self.bridge.writeRaw(frame) }.get()
    }

    /// The payloads of the pongs received so far.
    package var pongs: [[UInt8]] { bridge.state.withLockedValue { $0.pongs } }

    /// Waits for the next pong not yet waited for; `nil` once the connection has closed.
    package func nextPong() async -> [UInt8]? {
        var iterator = bridge.pongStream.makeAsyncIterator()
        return await iterator.next()
    }

    /// The status code of the server's WebSocket close frame, once received.
    package var closeCode: UInt16? { bridge.state.withLockedValue { $0.closeCode } }
}

extension RawClient {
    /// Opens `GET /v1/ws` on the HTTP listener at `port` and, if the server upgrades, returns a
    /// client whose protocol frames are binary WebSocket messages (one frame each, without the
    /// length prefix): every `RawClient` step works over it as over TCP.
    package static func connectWebSocket(
        port: Int, path: String = "/v1/ws", origin: String? = nil, host: String? = nil, from source: String? = nil,
        receiveBufferSize: Int? = nil
    ) async throws -> WebSocketUpgrade {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let head = NIOLockedValueBox<EventLoopPromise<(Int, String)>?>(nil)
        let bridge = WebSocketFrameBridge()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let channel =
            try await bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: (Int, String).self)
                    head.withLockedValue { $0 = promise }
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeResponseReader(head: promise) { pipeline in
                            try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)))
                            try pipeline.addHandler(WebSocketFrameEncoder())
                            try pipeline.addHandler(bridge)
                            try pipeline.addHandler(FrameCollector(continuation: continuation))
                        })
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\n"
        request += "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        request +=
            "Sec-WebSocket-Key: \(Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())\r\n"
        request += "Sec-WebSocket-Version: 13\r\n"
        if let origin { request += "Origin: \(origin)\r\n" }
        request += "\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        let (status, text) = try await head.withLockedValue { $0! }.futureResult.get()
        guard status == 101 else {
            try? await channel.close()
            return .refused(status: status, head: text)
        }
        return .upgraded(
            RawClient(channel: channel, frames: stream.makeAsyncIterator()),
            WebSocketSide(bridge: bridge, channel: channel))
    }
}

/// Reads the HTTP response to the upgrade request; on 101 puts the WebSocket handlers in its
/// place and hands them whatever followed the response head.
final class UpgradeResponseReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffered = ByteBuffer()
    private let head: EventLoopPromise<(Int, String)>
    private let addWebSocketHandlers: (ChannelPipeline.SynchronousOperations) throws -> Void
    private var isDone = false

    init(
        head: EventLoopPromise<(Int, String)>,
        addWebSocketHandlers: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void
    ) {
        self.head = head
        self.addWebSocketHandlers = addWebSocketHandlers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffered.writeBuffer(&bytes)
        let view = Array(buffered.readableBytesView)
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        let text = String(decoding: view[..<end.lowerBound], as: UTF8.self)
        let fields = text.split(separator: " ", maxSplits: 2)
        let status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
        isDone = true
        guard status == 101 else {
            head.succeed((status, text))
            return
        }
        do {
            try addWebSocketHandlers(context.pipeline.syncOperations)
        } catch {
            head.fail(error)
            context.close(promise: nil)
            return
        }
        head.succeed((status, text))
        buffered.moveReaderIndex(forwardBy: end.upperBound)
        // What followed the head in the same read (the server's first messages) goes to the
        // WebSocket decoder first; a context that has left the pipeline can no longer pass it on.
        let rest = buffered
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isDone { head.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }
}

/// Between the WebSocket codec and a ``RawClient``: each written buffer of length-prefixed frames
/// goes out as binary messages (one per frame, without the prefix); each binary message comes in
/// as one frame payload. Answers pings, records pongs and the close status, echoes the close.
final class WebSocketFrameBridge: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    struct State {
        var pongs: [[UInt8]] = []
        var closeCode: UInt16?
        var context: ChannelHandlerContext?
    }

    let state = NIOLockedValueBox(State())
    /// Every pong's payload, in order (read by one task at a time).
    let (pongStream, pongContinuation) = AsyncStream<[UInt8]>.makeStream()

    func handlerAdded(context: ChannelHandlerContext) { state.withLockedValue { $0.context = context } }
    func handlerRemoved(context: ChannelHandlerContext) { state.withLockedValue { $0.context = nil } }

    /// On the event loop: writes `frame` as is.
    func writeRaw(_ frame: WebSocketFrame) -> EventLoopFuture<Void> {
        guard let context = state.withLockedValue({ $0.context }) else {
            fatalError("the WebSocket bridge is not in a pipeline")
        }
        return context.writeAndFlush(wrapOutboundOut(frame))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        var last: EventLoopFuture<Void>?
        while let length = buffer.readInteger(as: UInt32.self), let payload = buffer.readSlice(length: Int(length)) {
            last = context.write(
                wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: payload)))
        }
        if let promise { last?.cascade(to: promise) ?? promise.succeed() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pongContinuation.finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary:
            context.fireChannelRead(wrapInboundOut(frame.unmaskedData))
        case .ping:
            context.writeAndFlush(
                wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)),
                promise: nil)
        case .pong:
            let payload = Array(frame.unmaskedData.readableBytesView)
            state.withLockedValue { $0.pongs.append(payload) }
            pongContinuation.yield(payload)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self)
            state.withLockedValue { $0.closeCode = code ?? 1005 }
            var echo = ByteBuffer()
            echo.writeInteger(code ?? 1000)
            context.writeAndFlush(
                wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)),
                promise: nil)
        default:
            break
        }
    }
}
