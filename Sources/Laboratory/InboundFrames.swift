import NIOCore

/// A connection's one iterator over its inbound frames, handed from the handshake reader (a child
/// task racing the deadline watcher) to the session reader (the connection's own task) once the
/// first has returned. The stream allows a single iterator, and only one task uses it at a time,
/// which is what makes sharing it sound.
final class InboundFrames: @unchecked Sendable {
    /// A TCP connection's frames, split by the channel's decoder.
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator?
    /// A gateway connection's frames, one per transport message.
    private let gateway: (any GatewayFrameSource)?

    init(_ stream: NIOAsyncChannelInboundStream<ByteBuffer>) {
        iterator = stream.makeAsyncIterator()
        gateway = nil
    }

    init(_ gateway: any GatewayFrameSource) {
        iterator = nil
        self.gateway = gateway
    }

    /// Whether the frames come through a gateway: their end is then the peer's close (the
    /// gateway's underlying connection closes only after the connection has ended).
    var isGateway: Bool { gateway != nil }

    /// The next frame; `nil` once the channel is closed (or the gateway's peer has closed).
    func next() async throws -> ByteBuffer? {
        if let gateway { return try await gateway.next() }
        return try await iterator!.next()
    }
}
