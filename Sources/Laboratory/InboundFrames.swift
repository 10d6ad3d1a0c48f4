import NIOCore

/// A connection's one iterator over its inbound frames, handed from the handshake reader (a child
/// task racing the deadline watcher) to the session reader (the connection's own task) once the
/// first has returned. The stream allows a single iterator, and only one task uses it at a time,
/// which is what makes sharing it sound.
final class InboundFrames: @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

    init(_ stream: NIOAsyncChannelInboundStream<ByteBuffer>) {
        iterator = stream.makeAsyncIterator()
    }

    /// The next frame; `nil` once the channel is closed.
    func next() async throws -> ByteBuffer? {
        try await iterator.next()
    }
}
