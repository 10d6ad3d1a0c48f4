import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Laboratory

@Suite("Graceful shutdown", .timeLimit(.minutes(1)))
struct ShutdownTests {
    /// A connection accepted while the listener closes may never reach the accept loop: its
    /// wrapped channel is dropped without `executeThenClose`. An unfinished `NIOAsyncChannel`
    /// writer traps when deallocated (swift-nio#2813), which crashed the server with SIGILL in 2 of
    /// 8 SIGTERMs under a connect churn. Here every accepted channel is wrapped as the server wraps
    /// it and dropped at once; its activation then releases the last reference.
    @Test("a connection accepted as the listener closes, never served, is dropped without trapping")
    func unservedAcceptedChannel() async throws {
        let dropped = AcceptCounter()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try LaboratoryServer.wrapAccepted(channel, handshakeFrameSize: 4096)
                    dropped.increment()
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        for _ in 0..<3 {
            let raw = try await RawClient.connect(port: listener.localAddress!.port!)
            // The child is active once the client can send; give its activation a round trip.
            try await raw.sendRaw([0, 0, 0, 0])
            await raw.close()
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(dropped.value == 3)
        try await listener.close()
    }

    @Test("accepted clients are told, may finish within the grace period, then are closed (test clock)")
    func announcesAndCloses() async throws {
        let start = ContinuousClock.now
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.shutdownGracePeriod = .milliseconds(800)
        }
        try await LiveServer.with(tweak) { live in
            let session = try await live.connect()
            var events = session.events.makeAsyncIterator()
            var stalled = try await RawClient.connect(port: live.port)
            _ = try #require(await stalled.nextFrame())

            await live.group.triggerGracefulShutdown()

            #expect(await events.next() == .serverStopping(gracePeriod: .milliseconds(800)))
            // Unaccepted connections end at once.
            #expect(try await stalled.closeReason()?.code == .serverStopping)
            // The accepted session still works during the grace period, which lasts until the
            // clock says it is over.
            #expect(try await session.request(service: "echo", body: [4, 2]) == [4, 2])
            // The grace timer is armed after the notice is sent: wait for it before moving the clock.
            await clock.waitForPending(count: 1, at: clock.now.advanced(by: .milliseconds(800)))
            clock.advance(by: .milliseconds(800) - .nanoseconds(1))
            #expect(try await session.request(service: "echo", body: [4, 3]) == [4, 3])
            clock.advance(by: .nanoseconds(1))
            guard case .closed(let reason)? = await events.next() else {
                Issue.record("expected the session to close")
                return
            }
            #expect(reason?.code == .serverStopping)
            // No new connections are accepted.
            await #expect(throws: ClientError.self) { try await live.connect() }
        }
        // Loose: the point is that run() returns after the grace period, on slow machines too.
        #expect(ContinuousClock.now - start < .seconds(45))
    }

    @Test(
        "at the end of a short grace, 300 busy clients each get serverStopping, then closing with code 9, never a reset"
    )
    func everyClientGetsItsClosingFrame() async throws {
        let clients = 300
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .milliseconds(300) }) { live in
            // Ten handshakes at a time: one address may have 16 unfinished.
            var sessions: [ClientSession] = []
            for start in stride(from: 0, to: clients, by: 10) {
                try await withThrowingTaskGroup(of: ClientSession.self) { group in
                    for index in start..<min(start + 10, clients) {
                        group.addTask { try await live.connect(name: "c\(index)") }
                    }
                    for try await session in group { sessions.append(session) }
                }
            }
            // Every client keeps eight 4 KiB requests in flight until its session ends, so the
            // server has unread input when the grace period ends: closing the socket then made the
            // kernel send a reset, and a client that saw the reset before reading lost the frame.
            let outcomes = await withTaskGroup(of: String?.self) { group in
                for session in sessions {
                    group.addTask {
                        let busy = Task {
                            await withTaskGroup(of: Void.self) { loops in
                                for _ in 0..<8 {
                                    loops.addTask {
                                        let body = [UInt8](repeating: 7, count: 4096)
                                        while (try? await session.request(service: "echo", body: body)) != nil {}
                                    }
                                }
                            }
                        }
                        defer { busy.cancel() }
                        var events = session.events.makeAsyncIterator()
                        guard case .serverStopping? = await events.next() else { return "no serverStopping" }
                        var next = await events.next()
                        while case .service? = next { next = await events.next() }
                        guard case .closed(let reason)? = next else {
                            return "ended without closing: \(String(describing: next))"
                        }
                        guard reason?.code == .serverStopping else {
                            return "closed with \(reason.map { "\($0)" } ?? "no closing frame")"
                        }
                        return nil
                    }
                }
                await live.group.triggerGracefulShutdown()
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(outcomes.isEmpty, "\(outcomes.count) of \(clients) clients: \(Set(outcomes))")
        }
    }

    @Test("clients slow to read still get serverStopping and closing: the server closes once the socket has taken them")
    func slowReadersGetTheirClosingFrame() async throws {
        // A queue bound high enough that the slow readers are not dropped as slow consumers: the
        // subject is what happens to frames still queued when the grace period ends.
        try await LiveServer.with(
            Tweak {
                $0.shutdownGracePeriod = .milliseconds(300)
                $0.outbound.maximumQueuedBytes = 64 << 20
                // Long enough for the clients, read one after the other in a debug build on a
                // busy machine, to take everything.
                $0.outbound.closeTimeout = .seconds(20)
            }
        ) { live in
            // Five clients ask for ten 800 KB echoes each and stop reading: more than the socket
            // buffers hold, so responses, serverStopping and closing wait in the server's queue
            // until after the grace period. Closing the channel at the end of the grace
            // discarded them.
            let echoes = 10
            var clients: [RawClient] = []
            for index in 0..<5 {
                var client = try await RawClient.connect(port: live.port, receiveBufferSize: 4096)
                _ = try await client.handshake(name: "slow\(index)")
                try await client.channel.setOption(.autoRead, value: false).get()
                for id in 1...echoes {
                    try await client.send(
                        .request(Request(id: UInt64(id), service: "echo", body: [UInt8](repeating: 1, count: 800_000))))
                }
                clients.append(client)
            }
            let shutdown = Task { await live.group.triggerGracefulShutdown() }
            // Past the grace period, but within the close timeout: a slow reader, not a client
            // that never reads.
            try await Task.sleep(for: .milliseconds(800))
            var failures: [String] = []
            for index in clients.indices {
                try await clients[index].channel.setOption(.autoRead, value: true).get()
                var messages: [ServerMessage] = []
                while let message = try await clients[index].receive() { messages.append(message) }
                // Echoes may be answered before or after serverStopping; closing comes last.
                let echoed = messages.filter {
                    if case .response(let response) = $0 { return response.body.count == 800_000 }
                    return false
                }
                guard echoed.count == echoes, messages.contains(.serverStopping(graceMilliseconds: 300)),
                    case .closing(let reason)? = messages.last, reason.code == .serverStopping
                else {
                    failures.append(
                        "client \(index) got \(echoed.count) echoes, then \(messages.suffix(2).map { "\($0)".prefix(40) })"
                    )
                    continue
                }
            }
            #expect(failures.isEmpty, "\(failures)")
            await shutdown.value
        }
    }

    @Test("a client that never reads cannot hold its connection, or the shutdown, past the close timeout")
    func neverReadingClientIsClosed() async throws {
        let start = ContinuousClock.now
        var neverReads: RawClient?
        try await LiveServer.with(
            Tweak {
                $0.shutdownGracePeriod = .milliseconds(100)
                $0.outbound.maximumQueuedBytes = 64 << 20
                $0.outbound.closeTimeout = .milliseconds(500)
            }
        ) { live in
            var client = try await RawClient.connect(port: live.port, receiveBufferSize: 4096)
            _ = try await client.handshake(name: "deaf")
            try await client.channel.setOption(.autoRead, value: false).get()
            for id in 1...6 {
                try await client.send(
                    .request(Request(id: UInt64(id), service: "echo", body: [UInt8](repeating: 1, count: 800_000))))
            }
            neverReads = client
        }
        // The server's run() returned (LiveServer.with waits for it) although the client never read
        // its closing frame: grace 0.1 s + close timeout 0.5 s, with a loose margin for a busy machine.
        #expect(ContinuousClock.now - start < .seconds(15))
        if var client = neverReads {
            try await client.channel.setOption(.autoRead, value: true).get()
            #expect(await client.waitForClose(within: .seconds(10)).closedByServer)
        }
    }

    @Test("clients that never stop sending still get their closing frame at the end of the grace")
    func floodingClientsGetTheirClosingFrame() async throws {
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .milliseconds(300) }) { live in
            // Fifty clients that send pings without pause, so the server always has unread input
            // when the grace period ends: closing the socket then made the kernel send a reset
            // right behind the closing frame, and a client that saw the reset first lost the frame.
            var clients: [RawClient] = []
            for index in 0..<50 {
                var client = try await RawClient.connect(port: live.port)
                _ = try await client.handshake(name: "flood\(index)")
                clients.append(client)
            }
            let outcomes = await withTaskGroup(of: String?.self) { group in
                for client in clients {
                    // The flood only seals and writes, the reader only reads and opens: they share
                    // no state but the channel, which is thread-safe.
                    let reader = UncheckedBox(client)
                    let sender = UncheckedBox(client)
                    group.addTask {
                        let flood = Task {
                            var value: UInt64 = 0
                            while (try? await sender.value.send(.ping(value))) != nil { value += 1 }
                        }
                        defer { flood.cancel() }
                        var last: ServerMessage?
                        var stopping = false
                        while let message = try? await reader.value.receive() {
                            if message == .serverStopping(graceMilliseconds: 300) { stopping = true }
                            last = message
                        }
                        guard stopping, case .closing(let reason)? = last, reason.code == .serverStopping else {
                            return "stopping \(stopping), last \(String(describing: last).prefix(60))"
                        }
                        return nil
                    }
                }
                // Shut down while every client runs, then gather what each saw, as in the test above.
                await live.group.triggerGracefulShutdown()
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(outcomes.isEmpty, "\(outcomes.count) of 50: \(outcomes.prefix(5))")
        }
    }

    @Test("a client that says bye when told lets the server stop before the grace period ends")
    func byeEndsEarly() async throws {
        let start = ContinuousClock.now
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .seconds(600) }) { live in
            let session = try await live.connect()
            var events = session.events.makeAsyncIterator()
            await live.group.triggerGracefulShutdown()
            #expect(await events.next() == .serverStopping(gracePeriod: .seconds(600)))
            await session.close()
        }
        // LiveServer.with returned, so the server's run() returned: long before the 600 s grace
        // (the bound is loose because shared machines are slow, not because the server is).
        #expect(ContinuousClock.now - start < .seconds(45))
    }

    @Test("no client message stops the server")
    func clientsCannotStopServer() async throws {
        try await LiveServer.with { live in
            let session = try await live.connect()
            for body in ["STOP SERVER", "stop", "shutdown"] {
                #expect(try await session.request(service: "echo", body: Array(body.utf8)) == Array(body.utf8))
            }
            await session.close()
            let next = try await live.connect(name: "still-here")
            #expect(try await next.request(service: "echo", body: [1]) == [1])
            await next.close()
        }
    }
}

/// Hands a value that is not `Sendable` to one other task, which alone uses it from then on.
private final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Counts from any thread.
final class AcceptCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    func increment() { count.withLockedValue { $0 += 1 } }
    var value: Int { count.withLockedValue { $0 } }
}
