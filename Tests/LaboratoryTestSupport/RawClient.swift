import Foundation
import Laboratory
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOCore
import NIOPosix

/// A client that speaks frames by hand, so tests can send what a real client never would.
package struct RawClient {
    package let channel: any Channel
    private var frames: AsyncStream<[UInt8]>.AsyncIterator
    package private(set) var sealer: RecordSealer?
    package private(set) var opener: RecordOpener?
    package private(set) var hello: ServerHello?

    /// A client over a connected channel whose pipeline hands each inbound frame payload to
    /// `frames` (over TCP, or over WebSocket: see `connectWebSocket`).
    init(channel: any Channel, frames: AsyncStream<[UInt8]>.AsyncIterator) {
        self.channel = channel
        self.frames = frames
    }

    /// Connects to the server on loopback; `from` picks the source address (any 127.x.y.z), so
    /// tests can play clients on different addresses.
    package static func connect(port: Int, from source: String? = nil, receiveBufferSize: Int? = nil) async throws
        -> RawClient
    {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let source {
            bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0))
        }
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let channel =
            try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumPayloadByteCount: 1 << 24)))
                    try channel.pipeline.syncOperations.addHandler(FrameCollector(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawClient(channel: channel, frames: stream.makeAsyncIterator())
    }

    /// The next frame payload, or `nil` once the server has closed the connection.
    package mutating func nextFrame() async -> [UInt8]? { await frames.next() }

    /// Reads frames until the server closes; returns them all.
    package mutating func remainingFrames() async -> [[UInt8]] {
        var all: [[UInt8]] = []
        while let frame = await frames.next() { all.append(frame) }
        return all
    }

    /// Writes bytes exactly as given.
    package func sendRaw(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Writes one frame around `payload`.
    package func sendFrame(_ payload: [UInt8]) async throws { try await sendRaw(Frame.encode(payload)) }

    /// Seals and writes a message; returns the sealed payload (for replaying).
    @discardableResult
    package func send(_ message: ClientMessage) async throws -> [UInt8] {
        let sealed = try sealer!.seal(message.encoded())
        try await sendFrame(sealed)
        return sealed
    }

    /// Reads and opens the next message; `nil` if the server closed.
    package mutating func receive() async throws -> ServerMessage? {
        guard let frame = await nextFrame() else { return nil }
        return try ServerMessage(decoding: try opener!.open(frame))
    }

    /// Reads the hello and sends a fresh secret; afterwards frames are sealed.
    package mutating func exchangeKeys() async throws {
        guard let payload = await nextFrame() else { throw RawClientError("closed before the hello") }
        try await exchangeKeys(hello: payload)
    }

    /// Sends a fresh secret for an already received hello.
    package mutating func exchangeKeys(hello payload: [UInt8]) async throws {
        try await sendFrame(try prepareKeyExchange(hello: payload))
    }

    /// Picks a fresh secret for an already received hello and installs the keys it derives, but
    /// returns the key exchange payload (the encrypted secret) instead of sending it.
    /// The key exchange is the client state machine's (`ClientHandshake`), which also checks the
    /// transport key's certificate; the identity key is trusted as it comes.
    package mutating func prepareKeyExchange(hello payload: [UInt8]) throws -> [UInt8] {
        var client = ClientHandshake(credentials: .init(password: "", name: ""))
        let actions: [ClientHandshake.Action]
        do {
            _ = try client.receiveHello(payload, now: UInt64(Date().timeIntervalSince1970 * 1000))
            actions = try client.trustDecided(mismatch: nil, secret: try SecureRandom.bytes(count: 32))
        } catch let failure as ClientHandshake.Failure {
            if case .closedByServer(let reason) = failure.kind {
                throw RawClientError("refused instead of a hello: \(reason)")
            }
            throw RawClientError("bad hello: \(failure)")
        }
        guard case .sendPlaintext(let exchange) = actions.first, case .installKeys(let keys) = actions.last else {
            throw RawClientError("unexpected client actions \(actions)")
        }
        sealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
        opener = try RecordOpener(key: keys.serverToClientKey, iv: keys.serverToClientIV)
        self.hello = try ServerHello(decoding: payload)
        return exchange
    }

    /// Runs the whole handshake and returns the acceptance.
    package mutating func handshake(password: String = LiveServer.password, name: String = "raw") async throws
        -> Acceptance
    {
        guard let hello = await nextFrame() else { throw RawClientError("closed before the hello") }
        return try await handshakeAfterHello(hello, password: password, name: name)
    }

    /// Runs the rest of the handshake after the hello; a rejection throws with the server's reason.
    package mutating func handshakeAfterHello(
        _ hello: [UInt8], password: String = LiveServer.password, name: String = "raw"
    )
        async throws -> Acceptance
    {
        try await exchangeKeys(hello: hello)
        guard try await receive() == .passwordPrompt else { throw RawClientError("no password prompt") }
        try await send(.password(password))
        let afterPassword = try await receive()
        if case .closing(let reason)? = afterPassword { throw RawClientError("rejected: \(reason)") }
        guard afterPassword == .namePrompt else { throw RawClientError("no name prompt") }
        try await send(.name(name))
        guard case .accepted(let acceptance)? = try await receive() else { throw RawClientError("not accepted") }
        return acceptance
    }

    /// Reads until the server's `closing` message (sealed or not) and returns its reason; then
    /// expects the connection to end.
    package mutating func closeReason() async throws -> CloseReason? {
        while let frame = await nextFrame() {
            let plain = (try? opener?.open(frame)) ?? frame
            if case .closing(let reason)? = try? ServerMessage(decoding: plain) {
                while await nextFrame() != nil {}
                return reason
            }
        }
        return nil
    }

    package func close() async { try? await channel.close() }
}

package struct RawClientError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Hands every inbound frame to an AsyncStream and finishes it when the connection closes.
package final class FrameCollector: ChannelInboundHandler, Sendable {
    package typealias InboundIn = ByteBuffer
    package let continuation: AsyncStream<[UInt8]>.Continuation

    package init(continuation: AsyncStream<[UInt8]>.Continuation) { self.continuation = continuation }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(Array(unwrapInboundIn(data).readableBytesView))
    }

    package func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}
