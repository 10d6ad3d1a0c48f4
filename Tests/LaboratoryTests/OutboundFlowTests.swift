import Laboratory
import LaboratoryClient
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("Outbound flow control", .timeLimit(.minutes(1)))
struct OutboundFlowTests {
    /// Pushes the number of events the request body asks for (two bytes, big-endian), each 100
    /// bytes carrying its index, all from the event loop in one go: every one of them is queued
    /// before the loop can write the first, as a room's messages to a member are during a burst.
    struct BurstService: LaboratoryService {
        let loop: any EventLoop
        /// Told when a push is refused: the session was dropped.
        var refused: AsyncStream<Void>.Continuation?

        func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws -> [UInt8] {
            let count = Int(body[0]) << 8 | Int(body[1])
            let sink = context.events
            let delivered = try await loop.submit {
                (0..<count).allSatisfy { index in
                    var payload = [UInt8](repeating: 0, count: 100)
                    payload[0] = UInt8(index >> 8)
                    payload[1] = UInt8(index & 0xFF)
                    return sink.push(ServiceEvent(service: "burst", body: payload))
                }
            }.get()
            guard delivered else {
                refused?.yield()
                throw ServiceError("the burst was refused")
            }
            return []
        }
    }

    @Test("bursts of 5,000 frames to a client that reads continuously are delivered in full")
    func burstToReadingClient() async throws {
        // One event loop, so the burst is queued while that loop is busy queueing it: with the old
        // bound of 1,024 queued frames (counted until written) the client was dropped at the 1,025th.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var services = ServiceRegistry()
        services.register(EchoService(), as: "echo")
        services.register(BurstService(loop: group.next()), as: "burst")
        try await LiveServer.with(services: services, eventLoopGroup: group) { live in
            let session = try await live.connect()
            var events = session.events.makeAsyncIterator()
            let count = 5000
            // Four bursts of some 650 KB each: 2.6 MB in all, more than twice the byte bound.
            for _ in 0..<4 {
                _ = try await session.request(service: "burst", body: [UInt8(count >> 8), UInt8(count & 0xFF)])
                var indices: [Int] = []
                while indices.count < count, let event = await events.next() {
                    guard case .service(let pushed) = event else {
                        Issue.record("expected the burst, got \(event)")
                        break
                    }
                    indices.append(Int(pushed.body[0]) << 8 | Int(pushed.body[1]))
                }
                #expect(indices == Array(0..<count))
            }
            #expect(try await session.request(service: "echo", body: [1]) == [1])
            await session.close()
        }
        try await group.shutdownGracefully()
    }

    @Test("the same bursts to a client that does not read get it dropped once its untaken bytes pass the bound")
    func stalledClientDropped() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var services = ServiceRegistry()
        let (refusals, refused) = AsyncStream<Void>.makeStream()
        services.register(BurstService(loop: group.next(), refused: refused), as: "burst")
        try await LiveServer.with(services: services, eventLoopGroup: group) { live in
            var stalled = try await RawClient.connect(port: live.port, receiveBufferSize: 4096)
            _ = try await stalled.handshake(name: "stalled")
            try await stalled.channel.setOption(.autoRead, value: false).get()
            // Bursts of some 650 KB that the client never takes. The bytes the socket has taken do
            // not count against the 1 MiB bound, and the kernel grows a loopback socket's send
            // buffer up to `net.ipv4.tcp_wmem`'s maximum (4 MiB by default): four bursts (2.6 MB)
            // fitted in it whole on one CI machine, so nothing ever waited and the test hung. 64
            // bursts (41.6 MB) pass the bound whatever the socket holds.
            // The server may drop the client before the last requests are written: that is the point.
            for id in 1...64 {
                _ = try? await stalled.send(.request(Request(id: UInt64(id), service: "burst", body: [0x13, 0x88])))
            }
            var refusal = refusals.makeAsyncIterator()
            #expect(await refusal.next() != nil)
            // The client's channel may already have seen the server's close (a reset needs no read).
            _ = try? await stalled.channel.setOption(.autoRead, value: true).get()
            let close = await stalled.waitForClose(within: .seconds(20))
            #expect(close.closedByServer)
            // Dropped as a slow consumer: the close came without a closing frame (§12).
            #expect(close.reason == nil)
        }
        try await group.shutdownGracefully()
    }
}
