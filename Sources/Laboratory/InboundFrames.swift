import NIOCore

/// Where a connection's inbound frames come from: a TCP channel's decoded frames
/// (``InboundFrames``) or a gateway's messages (``GatewayInboundFrames``). `Connection` reads
/// through it generically, so the TCP path is specialized to ``InboundFrames`` and costs what it
/// did before gateways existed (an existential, or one class holding an optional channel
/// iterator, each cost 1.5 to 3.8 k instructions per echo round trip under callgrind).
protocol InboundFrameSource: AnyObject, Sendable {
    /// The next frame; `nil` once the channel is closed (or the gateway's peer has closed).
    func next() async throws -> ByteBuffer?
    /// Whether the frames come through a gateway: their end is then the peer's close (the
    /// gateway's underlying connection closes only after the connection has ended).
    static var isGateway: Bool { get }
}

/// A connection's one iterator over its inbound frames, handed from the handshake reader (a child
/// task racing the deadline watcher) to the session reader (the connection's own task) once the
/// first has returned. The stream allows a single iterator, and only one task uses it at a time,
/// which is what makes sharing it sound.
final class InboundFrames: InboundFrameSource, @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

    init(_ stream: NIOAsyncChannelInboundStream<ByteBuffer>) {
        iterator = stream.makeAsyncIterator()
    }

    static var isGateway: Bool { false }

    /// The next frame; `nil` once the channel is closed.
    func next() async throws -> ByteBuffer? {
        try await iterator.next()
    }
}

/// A gateway connection's frames, one per transport message.
final class GatewayInboundFrames: InboundFrameSource {
    private let source: any GatewayFrameSource

    init(_ source: any GatewayFrameSource) {
        self.source = source
    }

    static var isGateway: Bool { true }

    func next() async throws -> ByteBuffer? {
        try await source.next()
    }
}
