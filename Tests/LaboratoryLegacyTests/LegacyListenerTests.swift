import Laboratory
import LaboratoryClient
import LaboratoryLegacy
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import NIOPosix
import Testing

@Suite("Legacy listener, driven by the Swift legacy client", .timeLimit(.minutes(2)))
struct LegacyListenerTests {
    @Test("an unfinished legacy handshake is evicted (closed) for a newcomer when the handshake table is full")
    func eviction() async throws {
        // Steps get far longer than the suite's time limit: only the eviction can close the
        // stalled connection in time.
        try await withLegacyServer(stepTimeout: .seconds(600), maxStartups: MaxStartups(start: 1, rate: 100, full: 1)) {
            live, port in
            // A prototype-speaking connection that takes the key and never answers.
            let stalled = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(to: try SocketAddress(ipAddress: "127.0.7.1", port: 0))
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            try await stalled.executeThenClose { inbound, _ in
                var bytes = inbound.makeAsyncIterator()
                // The key's first bytes: the connection is admitted and holds the only slot.
                #expect(try await bytes.next() != nil)
                // A v1 newcomer from another network (127.0.0.0/24) gets in, in its place.
                let newcomer = try await live.connect(name: "newcomer")
                // The server closes the stalled connection (the rest of the key may come first).
                while try await bytes.next() != nil {}
                await newcomer.close()
            }
        }
    }

    @Test("the legacy client's timeout fails a server that never sends its key when the clock reaches it (test clock)")
    func handshakeTimeout() async throws {
        let clock = TestClock()
        let error = try await handshakeTimeoutError(after: .seconds(30), on: clock) { port in
            try await LegacyClientSession.connect(
                host: "127.0.0.1", port: port, password: "x", name: "ada", timeout: .seconds(30),
                clock: AnyTimerClock(clock))
        }
        #expect(error?.code == .handshakeTimeout)
    }

    @Test("talks to our legacy listener, and reports a wrong password")
    func againstOurListener() async throws {
        try await withLegacyServer { _, port in
            let session = try await LegacyClientSession.connect(
                host: "127.0.0.1", port: port, password: LiveServer.password, name: "swift-legacy")
            try await session.send("ping")
            #expect(await session.receive() == "I received \"ping\" from you.")
            #expect(try await session.serverName() == "Laboratory")
            await session.close()

            let error = try await #require(throws: ClientError.self) {
                try await LegacyClientSession.connect(
                    host: "127.0.0.1", port: port, password: "nope", name: "swift-legacy")
            }
            #expect(error.code == .wrongPassword)
        }
    }

    @Test("a legacy client and a v1 client chat in the same room")
    func sharedRoom() async throws {
        try await withLegacyServer { live, port in
            let legacy = try await LegacyClientSession.connect(
                host: "127.0.0.1", port: port, password: LiveServer.password, name: "legacy-ann")
            try await legacy.send("/join lobby")
            let joined = await legacy.lines(until: { $0.hasPrefix("* you joined lobby") })
            #expect(joined.contains("* legacy-ann joined lobby"), "\(joined)")
            let session = try await live.connect(name: "swift-sam")
            var events = session.events.makeAsyncIterator()
            _ = try await session.chat(.join(room: "lobby", after: nil))
            #expect(await legacy.lines(until: { $0 == "* swift-sam joined lobby" }).last == "* swift-sam joined lobby")
            try await legacy.send("hello from the prototype")
            var heard: ChatEvent?
            while heard == nil, let event = await events.next() {
                if case .service(let serviceEvent) = event, let chat = ChatEvent(serviceEvent), chat.kind == .message {
                    heard = chat
                }
            }
            #expect(heard?.name == "legacy-ann")
            #expect(heard?.text == "hello from the prototype")
            await legacy.close()
            await session.close()
        }
    }
}

extension LegacyClientSession {
    /// Messages received up to and including the first that satisfies `isLast` (all of them if
    /// the connection closes first).
    fileprivate func lines(until isLast: (String) -> Bool) async -> [String] {
        var lines: [String] = []
        while let line = await receive() {
            lines.append(line)
            if isLast(line) { break }
        }
        return lines
    }
}
