import Laboratory
import LaboratoryClient
import LaboratoryTestSupport
import NIOCore
import NIOPosix
import Testing

/// A live server with the legacy listener on a free port. Steps get 10 s unless a test needs the
/// prototype's 1 s: a loaded test machine cannot always answer within one second.
private func withLegacyServer<T: Sendable>(
    stepTimeout: Duration = .seconds(10), maxStartups: MaxStartups = AdmissionPolicy().maxStartups,
    _ body: (LiveServer, Int) async throws -> T
) async throws -> T {
    try await LiveServer.with(
        Tweak {
            $0.legacy = LegacyConfiguration(port: 0)
            $0.legacy?.stepTimeout = stepTimeout
            $0.admission.penalties.wrongPasswordDelay = .milliseconds(50)
            $0.admission.maxStartups = maxStartups
        }
    ) { live in
        let legacy = try #require(try await live.server.legacyListeningAddress())
        return try await body(live, legacy.port!)
    }
}

@Suite("Legacy v0 listener, driven by a Python prototype client", .timeLimit(.minutes(2)))
struct LegacyListenerTests {
    @Test(
        "prototype scenarios pass against our server",
        arguments: ["echo", "batched", "split", "wrong_password", "timeout", "stop_server_ignored"])
    func scenario(_ name: String) async throws {
        try await withLegacyServer(stepTimeout: name == "timeout" ? .seconds(1) : .seconds(10)) { _, port in
            let client = try ChildProcess.python("Legacy/legacy_client.py", [name, "\(port)", LiveServer.password])
            let output = await client.remainingLines()
            let exit = await client.waitForExit()
            #expect(exit.status == 0, "\(output) \(exit.stderr)")
            #expect(output.last == "OK", "\(output)")
            if name == "echo" { #expect(output.contains("server name: Laboratory")) }
        }
    }

    @Test("on shutdown the server sends STOP SERVER to prototype clients")
    func shutdownNotice() async throws {
        try await withLegacyServer { live, port in
            let client = try ChildProcess.python(
                "Legacy/legacy_client.py", ["shutdown", "\(port)", LiveServer.password])
            #expect(await client.nextLine() == "READY")
            await live.group.triggerGracefulShutdown()
            let output = await client.remainingLines()
            #expect(await client.waitForExit().status == 0, "\(output)")
        }
    }

    @Test("an unfinished legacy handshake is evicted (closed) for a newcomer when the handshake table is full")
    func eviction() async throws {
        try await withLegacyServer(maxStartups: MaxStartups(start: 1, rate: 100, full: 1)) { live, port in
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
                // A v1 newcomer from another network gets in, in its place.
                var newcomer = try await RawClient.connect(port: live.port, from: "127.0.8.1")
                _ = try await newcomer.handshake()
                // The server closes the stalled connection (the rest of the key may come first).
                while try await bytes.next() != nil {}
                await newcomer.close()
            }
        }
    }

    @Test("a prototype client and a v1 client chat in the same room")
    func mixedRoom() async throws {
        try await withLegacyServer { live, port in
            let legacy = try ChildProcess.python("Legacy/legacy_client.py", ["chat", "\(port)", LiveServer.password])
            #expect(await legacy.nextLine() == "READY")
            let session = try await live.connect(name: "swift-sam")
            var events = ChatEventReader(session)
            _ = try await session.chat(.join(room: "lobby", after: nil))
            _ = try await session.chat(.say(room: "lobby", text: "hi from v1"))
            let reply = await events.collect(1) { $0.kind == .message && $0.name == "legacy-ann" }
            #expect(reply.first?.text == "hello from the prototype")
            let output = await legacy.remainingLines()
            #expect(await legacy.waitForExit().status == 0, "\(output)")
            await session.close()
        }
    }
}

@Suite("Swift client in legacy mode", .timeLimit(.minutes(2)))
struct LegacyClientTests {
    @Test("talks to a Python prototype server")
    func againstPythonPrototype() async throws {
        let fixture = try ChildProcess.python("Legacy/legacy_server.py", ["fixture-password", "Prototype"])
        let portLine = try #require(await fixture.value(after: "PORT "))
        let port = try #require(Int(portLine))
        let session = try await LegacyClientSession.connect(
            host: "127.0.0.1", port: port, password: "fixture-password", name: "swift")
        try await session.send("hello")
        #expect(await session.receive() == "I received \"hello\" from you.")
        #expect(try await session.serverName() == "Prototype")
        try await session.send("QUIT FIXTURE")
        #expect(await session.receive() == "STOP SERVER")
        await session.close()
        #expect(await fixture.waitForExit().status == 0)
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
}
