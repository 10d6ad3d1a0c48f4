@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOCore
import NIOEmbedded
import Testing

@testable import Laboratory

/// `Outbound` seals frames queued between two turns of the event loop into shared buffers: these
/// check that what reaches the wire is still every frame, in counter order, each opening with its
/// own counter, and that the slow-consumer bound still counts every frame.
@Suite("Outbound coalescing")
struct OutboundCoalescingTests {
    static let key = (0..<32).map { UInt8($0) }
    static let iv = (0..<12).map { UInt8(100 + $0) }

    /// An `Outbound` with keys on an in-memory channel whose event loop runs only when told.
    static func outbound(_ limits: OutboundLimits = OutboundLimits()) throws -> (Outbound, EmbeddedChannel) {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let outbound = Outbound(channel: channel, limits: limits, clock: .continuous)
        try outbound.installKey(key, iv: iv)
        return (outbound, channel)
    }

    @Test("frames queued before the event loop runs go out in a few shared buffers, every one opening in order")
    func burstInFewBuffers() throws {
        let (outbound, channel) = try Self.outbound()
        var sent: [ServerMessage] = []
        for index in 0..<500 {
            let event = ServiceEvent(service: "chat", body: Array("message \(index)".utf8))
            // Events encoded once (as a room sends them) and ordinary messages, interleaved.
            if index % 7 == 0 {
                let response = ServerMessage.response(Response(requestID: UInt64(index), status: .ok, body: [1, 2]))
                #expect(outbound.send(response))
                sent.append(response)
            } else {
                #expect(outbound.send(encoded: ServerMessage.event(event).encoded()))
                sent.append(.event(event))
            }
        }
        channel.embeddedEventLoop.run()

        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        // 500 frames of about 40 bytes: buffers of doubling size, not one per frame.
        #expect(buffers.count >= 1 && buffers.count <= 12, "\(buffers.count) buffers")

        var wire = ByteBuffer()
        for var buffer in buffers { wire.writeBuffer(&buffer) }
        let opener = try RecordOpener(key: Self.key, iv: Self.iv)
        var received: [ServerMessage] = []
        while let length = wire.readInteger(as: UInt32.self) {
            guard let sealed = wire.readBytes(length: Int(length)) else {
                Issue.record("a frame cut short")
                break
            }
            received.append(try ServerMessage(decoding: try opener.open(sealed)))
        }
        #expect(wire.readableBytes == 0)
        #expect(received == sent)
    }

    @Test("frames that share buffers still count one by one against the slow-consumer bound")
    func boundCountsSharedFrames() throws {
        var limits = OutboundLimits()
        limits.maximumQueuedBytes = 4096
        let (outbound, channel) = try Self.outbound(limits)
        let payload = ServerMessage.event(ServiceEvent(service: "chat", body: [UInt8](repeating: 1, count: 80)))
            .encoded()
        // Each frame is 4 + payload + 16 bytes; nothing is written until the loop runs.
        let frameBytes = 4 + payload.count + 16
        let fitting = 4096 / frameBytes
        for _ in 0..<fitting { #expect(outbound.send(encoded: payload)) }
        #expect(outbound.failure == nil)
        #expect(!outbound.send(encoded: payload))
        #expect(outbound.failure?.code == .slowConsumer)
        #expect(!outbound.send(encoded: payload))
        channel.embeddedEventLoop.run()
    }

    @Test("once the loop has written a burst, the next frame starts a buffer of its own size")
    func loneFrameAfterBurst() throws {
        let (outbound, channel) = try Self.outbound()
        for index in 0..<20 {
            outbound.send(encoded: ServerMessage.event(ServiceEvent(service: "s", body: [UInt8(index)])).encoded())
        }
        channel.embeddedEventLoop.run()
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}
        let response = ServerMessage.response(
            Response(requestID: 9, status: .ok, body: [UInt8](repeating: 3, count: 1000)))
        #expect(outbound.send(response))
        channel.embeddedEventLoop.run()
        let buffer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(buffer.readableBytes == 4 + response.encoded().count + 16)
        // Not a share of a large buffer kept from the burst.
        #expect(buffer.capacity < 2 * buffer.readableBytes)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }
}
