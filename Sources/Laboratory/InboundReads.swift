import NIOCore

/// How much a connection reads from its socket at a time, before and after the client is accepted.
///
/// While a wrong password waits out its delay the connection reads no frames, but whatever the
/// channel has already read stays buffered in its inbound stream until the connection ends; and
/// once a socket is readable, NIO reads up to `maxMessagesPerRead` times the receive buffer before
/// the stream's backpressure can stop it. With the session's settings (4 reads of up to 64 KiB then)
/// an unauthenticated client that pipelines legal 4 KiB frames after a wrong password made the
/// server hold about 300 KiB per connection. Until acceptance a connection therefore reads once
/// per readable event, at most 4 KiB: what it buffers is then bounded by the stream's high
/// watermark of frames (each at most 4 KiB) and one read.
enum InboundReads {
    /// Receive buffers until acceptance: at most one handshake frame's worth per read.
    static let handshakeAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 4096)
    /// Reads per readable event until acceptance.
    static let handshakeMessagesPerRead: UInt = 1
    /// Receive buffers for a session. Starting at 512 bytes instead of NIO's 2 KiB saves 1.5 KiB
    /// per idle session; the buffer still doubles as reads fill it, up to 128 KiB, for sessions
    /// that move data: a frame with a 64 KiB body (65,5xx bytes with its head and tag) then fits
    /// one read instead of spanning two, whose joining copied the whole frame.
    static let sessionAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 131_072)
    /// Reads per readable event for a session (NIO's default).
    static let sessionMessagesPerRead: UInt = 4

    /// Switches `channel` to the session's reads (the client was accepted).
    static func useSessionReads(on channel: any Channel) {
        channel.setOption(ChannelOptions.recvAllocator, value: sessionAllocator).whenComplete { _ in }
        channel.setOption(ChannelOptions.maxMessagesPerRead, value: sessionMessagesPerRead).whenComplete { _ in }
    }
}
