@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import NIOPosix
import Testing

@testable import Laboratory

/// The handler that hands a TCP connection's decoded frames to its task (``InboundFrames``), on a
/// real loopback connection set up as the server sets up an accepted channel.
@Suite("Inbound frames", .timeLimit(.minutes(1)))
struct InboundFramesTests {
    @Test("frames pipelined while nobody reads stop the channel's reads at the watermark, and all arrive in order")
    func readsStopAtTheWatermark() async throws {
        try await withAcceptedChannel { accepted, raw in
            let count = 64
            var bytes: [UInt8] = []
            for index in 0..<count { bytes += Frame.encode([UInt8](repeating: UInt8(index), count: 1000)) }
            try await raw.sendRaw(bytes)
            // Nobody reads: the channel buffers frames up to the watermark and then stops reading.
            while accepted.frames.bufferedFrameCount < InboundFrames.highWatermark {
                try await Task.sleep(for: .milliseconds(5))
            }
            // Time for the channel to read on if it would (the rest is in its socket by now).
            try await Task.sleep(for: .milliseconds(300))
            // One read until acceptance is at most 4 KiB: at most 4 frames of 1,004 bytes beyond the mark.
            #expect(accepted.frames.bufferedFrameCount <= InboundFrames.highWatermark + 4)
            for index in 0..<count {
                let frame = try #require(try await accepted.frames.next()?.buffer)
                #expect(frame == ByteBuffer(bytes: [UInt8](repeating: UInt8(index), count: 1000)))
            }
            await raw.close()
            #expect(try await accepted.frames.next()?.buffer == nil)
        }
    }

    @Test("a cancelled wait ends with nil, and the frames sent after it still arrive")
    func cancelledWait() async throws {
        try await withAcceptedChannel { accepted, raw in
            let waiting = Task { try await accepted.frames.next() }
            try await Task.sleep(for: .milliseconds(50))
            waiting.cancel()
            #expect(try await waiting.value == nil)
            // A task cancelled before it waits gets nil too, without taking a frame.
            let cancelledFirst = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await accepted.frames.next()
            }
            #expect(try await cancelledFirst.value == nil)
            try await raw.sendFrame([7, 7])
            #expect(try await accepted.frames.next()?.buffer == ByteBuffer(bytes: [7, 7]))
        }
    }

    @Test("frames read before an oversized prefix arrive first, then the decoder's error, then the end")
    func errorAfterFrames() async throws {
        try await withAcceptedChannel { accepted, raw in
            try await raw.sendRaw(Frame.encode([1]) + Frame.encode([2]) + [0, 1, 0, 0])
            #expect(try await accepted.frames.next()?.buffer == ByteBuffer(bytes: [1]))
            #expect(try await accepted.frames.next()?.buffer == ByteBuffer(bytes: [2]))
            let error = await #expect(throws: ProtocolError.self) { try await accepted.frames.next() }
            #expect(error?.closeReason.code == .frameTooLarge)
            #expect(try await accepted.frames.next()?.buffer == nil)
        }
    }

    /// Accepts one loopback connection, set up as the server sets up its accepted channels (the
    /// handshake's reads and frame limit), and runs `body` with it and its client.
    private func withAcceptedChannel(
        _ body: (LaboratoryServer.AcceptedChannel, RawClient) async throws -> Void
    ) async throws {
        let (stream, continuation) = AsyncStream<LaboratoryServer.AcceptedChannel>.makeStream()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.recvAllocator, value: InboundReads.handshakeAllocator)
            .childChannelOption(.maxMessagesPerRead, value: InboundReads.handshakeMessagesPerRead)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    continuation.yield(try LaboratoryServer.wrapAccepted(channel, handshakeFrameSize: 4096))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let raw = try await RawClient.connect(port: listener.localAddress!.port!)
        var accepted = stream.makeAsyncIterator()
        let channel = try #require(await accepted.next())
        do {
            try await body(channel, raw)
        } catch {
            await raw.close()
            try? await channel.channel.close()
            try? await listener.close()
            throw error
        }
        await raw.close()
        try? await channel.channel.close()
        try await listener.close()
    }
}

extension InboundFrame {
    /// The frame's bytes, as read or as opened.
    fileprivate var buffer: ByteBuffer {
        switch self {
        case .sealed(let buffer), .opened(let buffer): buffer
        }
    }
}
