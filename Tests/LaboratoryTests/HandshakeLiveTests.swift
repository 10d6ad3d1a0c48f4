import Laboratory
import LaboratoryClient
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import Testing

@Suite("Live handshake", .timeLimit(.minutes(1)))
struct HandshakeLiveTests {
    @Test("a client connects, passes the handshake and calls Echo")
    func handshakeAndEcho() async throws {
        try await LiveServer.with { live in
            let session = try await live.connect(name: "Ada")
            #expect(session.acceptance.serverName == "Laboratory")
            #expect(session.acceptance.services == ["echo", "chat"])
            #expect(session.acceptance.connectionID >= 1)
            #expect(session.serverFingerprint == live.fingerprint)
            let body = Array("hello, laboratory".utf8)
            #expect(try await session.request(service: "echo", body: body) == body)
            #expect(try await session.request(service: "echo", body: []) == [])
            #expect(try await session.serverName() == "Laboratory")
            _ = try await session.ping()
            await session.close()
        }
    }

    @Test("concurrent requests on one session are matched by id")
    func concurrentRequests() async throws {
        try await LiveServer.with { live in
            let session = try await live.connect()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let body = Array("request \(index)".utf8)
                        let reply = try await session.request(service: "echo", body: body)
                        #expect(reply == body)
                    }
                }
                try await group.waitForAll()
            }
            await session.close()
        }
    }

    @Test("an unknown service gets an error response and the session stays up")
    func unknownService() async throws {
        try await LiveServer.with { live in
            let session = try await live.connect()
            let error = try await #require(throws: ClientError.self) {
                try await session.request(service: "nope", body: [1])
            }
            #expect(error.code == .requestFailed)
            #expect(error.responseStatus == .unknownService)
            #expect(error.message.contains("echo"))
            #expect(try await session.request(service: "echo", body: [2]) == [2])
            await session.close()
        }
    }

    @Test("a wrong password is rejected with its reason")
    func wrongPassword() async throws {
        try await LiveServer.with { live in
            let error = try await #require(throws: ClientError.self) {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: "guess", name: "eve",
                    trust: .pinned(fingerprint: live.fingerprint))
            }
            #expect(error.code == .wrongPassword)
            #expect(error.step == .password)
            #expect(error.closeReason?.code == .wrongPassword)
        }
    }

    @Test("an invalid display name is rejected with the rule it broke")
    func invalidName() async throws {
        try await LiveServer.with { live in
            let error = try await #require(throws: ClientError.self) {
                try await live.connect(name: "bad\u{1B}[31mname")
            }
            // Without a retryName closure the first rejection ends the connect.
            #expect(error.code == .nameRejected && error.step == .name)
            #expect(error.nameRejection?.reason.contains("U+1B") == true && error.nameRejection?.attemptsLeft == 2)
            #expect(error.message.contains("U+1B"))
        }
    }

    @Test("a client asking for plaintext is refused unless the server allows it")
    func plaintext() async throws {
        var plaintext = ClientConfiguration()
        plaintext.requestsPlaintext = true
        try await LiveServer.with { live in
            let error = try await #require(throws: ClientError.self) {
                try await live.connect(configuration: plaintext)
            }
            #expect(error.closeReason?.code == .plaintextNotAllowed)
        }
        try await LiveServer.with(Tweak { $0.allowsPlaintext = true }) { live in
            let session = try await live.connect(configuration: plaintext)
            #expect(try await session.request(service: "echo", body: [7, 7]) == [7, 7])
            await session.close()
        }
    }

    @Test("a client that stops after a step is closed at that step's deadline, not before (test clock)")
    func stallAfterStep() async throws {
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.handshakeStepTimeout = .seconds(10)
            $0.handshakeTimeout = .seconds(30)
        }
        try await LiveServer.with(tweak) { live in
            var raw = try await RawClient.connect(port: live.port)
            let hello = try #require(await raw.nextFrame())
            #expect(try ServerHello(decoding: hello).serverRandom.count == 32)
            // A nanosecond before the first step's deadline, the key exchange is still in time.
            clock.advance(by: .seconds(10) - .nanoseconds(1))
            try await raw.exchangeKeys(hello: hello)
            #expect(try await raw.receive() == .passwordPrompt)
            // Then silence: the password step's own deadline, ten seconds on, ends the connection.
            clock.advance(by: .seconds(10))
            let reason = try await raw.closeReason()
            #expect(reason?.code == .handshakeTimeout)
            #expect(reason?.message.contains("awaiting password") == true, "\(String(describing: reason))")
        }
    }

    @Test("a message out of order ends the handshake with a protocol violation")
    func outOfOrder() async throws {
        try await LiveServer.with { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            try await raw.send(.name("skipping the password"))
            let reason = try await raw.closeReason()
            #expect(reason?.code == .protocolViolation)
        }
    }

    @Test("a key that does not match the pin aborts before the password is sent")
    func pinMismatch() async throws {
        try await LiveServer.with { live in
            let error = try await #require(throws: ClientError.self) {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: LiveServer.password, name: "ada",
                    trust: .pinned(fingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
            }
            #expect(error.code == .serverKeyMismatch)
            #expect(error.step == .hello)
        }
    }
}
