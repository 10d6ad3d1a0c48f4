import Laboratory
import LaboratoryClient
import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import NIOEmbedded
import Testing

/// Answers with its body reversed, written into a new buffer.
struct ReverseService: LaboratoryByteBufferService {
    func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws -> ByteBuffer {
        var reply = ByteBuffer()
        reply.reserveCapacity(body.readableBytes)
        reply.writeBytes(body.readableBytesView.reversed())
        return reply
    }
}

/// Fails on an empty body, to show a buffer service's errors reach the client as an array one's do.
struct PickyService: LaboratoryByteBufferService {
    func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws -> ByteBuffer {
        guard body.readableBytes > 0 else { throw ServiceError("send something") }
        return body
    }
}

@Suite("ByteBuffer services and bodies over TCP", .timeLimit(.minutes(1)))
struct ByteBufferServiceLiveTests {
    @Test("buffer and array services answer over a real session, bodies up to the frame limit")
    func overTCP() async throws {
        var services = ServiceRegistry.standard
        services.register(ReverseService(), as: "reverse")
        services.register(PickyService(), as: "picky")
        try await LiveServer.with(services: services) { live in
            let session = try await live.connect()
            // Up to the largest body a 1 MiB frame holds: such frames span many socket reads.
            let largest = Frame.defaultMaximumPayloadByteCount - 64 - 16  // less the head and the tag
            for size in [0, 1, 100, 65_536, 65_600, 300_000, largest] {
                let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
                #expect(try await session.request(service: "echo", body: body) == body, "echo \(size)")
                #expect(try await session.request(service: "reverse", body: body) == body.reversed(), "reverse \(size)")
            }
            let error = try await #require(throws: ClientError.self) {
                try await session.request(service: "picky", body: [])
            }
            #expect(error.responseStatus == .serviceError)
            #expect(error.message.contains("send something"))
            // Pipelined, out of order by size: each answer matches its request.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let body = [UInt8](repeating: UInt8(index), count: (index % 4) * 40_000 + index)
                        let reply = try await session.request(service: "echo", body: body)
                        #expect(reply == body)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("a frame arriving a few bytes at a time is gathered into room reserved once for the whole frame")
    func reassembly() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maximumPayloadByteCount: 100_000)))
        defer { _ = try? channel.finish() }
        let payload = (0..<90_000).map { UInt8(truncatingIfNeeded: $0) }
        var wire = ByteBuffer()
        wire.writeInteger(UInt32(payload.count))
        wire.writeBytes(payload)
        // The first read holds the prefix and a few bytes; the rest comes in 1,000-byte reads.
        try channel.writeInbound(wire.readSlice(length: 10)!)
        while wire.readableBytes > 0 {
            #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
            try channel.writeInbound(wire.readSlice(length: min(1000, wire.readableBytes))!)
        }
        let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(Array(frame.readableBytesView) == payload)

        // The decoder itself: once the prefix is known, room for exactly the whole frame.
        var decoder = FrameDecoder(maximumPayloadByteCount: 100_000)
        var first = ByteBuffer()
        first.writeInteger(UInt32(payload.count))
        first.writeBytes(payload.prefix(6))
        #expect(try decoder.decode(buffer: &first) == nil)
        #expect(first.capacity >= 4 + payload.count)
        // NIO rounds every buffer's capacity up to a power of two, as it does when a buffer grows.
        #expect(first.capacity < 2 * (4 + payload.count), "no more than the frame, rounded")
        // The reads that follow fit without the buffer growing again.
        let reserved = first.capacity
        first.writeBytes(payload.dropFirst(6))
        #expect(first.capacity == reserved)
        #expect(try decoder.decode(buffer: &first).map { Array($0.readableBytesView) } == payload)
    }

    @Test("a declared 1 MiB frame reserves at most 128 KiB ahead of the bytes that arrived")
    func reservationIsBounded() throws {
        var decoder = FrameDecoder(maximumPayloadByteCount: 1 << 20)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1 << 20))
        buffer.writeBytes([1, 2, 3])
        #expect(try decoder.decode(buffer: &buffer) == nil)
        // Four bytes of prefix must not make the server hold the whole megabyte: the room ahead is
        // at most the reservation bound (rounded up to a power of two by NIO).
        #expect(buffer.capacity <= 2 * FrameDecoder.largestReservation)
        #expect(buffer.capacity < 1 << 20)
        // The frame still arrives whole as its bytes come.
        let rest = [UInt8](repeating: 7, count: (1 << 20) - 3)
        buffer.writeBytes(rest)
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(frame.readableBytes == 1 << 20)
    }

    @Test("a length prefix over the limit fails before anything is reserved for it")
    func oversizedPrefix() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maximumPayloadByteCount: 4096)))
        var wire = ByteBuffer()
        wire.writeInteger(UInt32(1 << 30))
        wire.writeBytes([1, 2, 3])
        let error = try #require(throws: ProtocolError.self) { try channel.writeInbound(wire) }
        #expect(error.closeReason.code == .frameTooLarge)
        _ = try? channel.finish()

        var decoder = FrameDecoder(maximumPayloadByteCount: 4096)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(16)
        buffer.writeInteger(UInt32(1 << 30))
        let capacity = buffer.capacity
        #expect(throws: ProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(buffer.capacity == capacity, "nothing reserved for a frame over the limit")
        // A frame at the handshake limit (4 KiB) is small: nothing is reserved ahead of its bytes.
        var atLimit = ByteBuffer()
        atLimit.writeInteger(UInt32(4096))
        let smallCapacity = atLimit.capacity
        #expect(try decoder.decode(buffer: &atLimit) == nil)
        #expect(atLimit.capacity == smallCapacity)
    }
}
