import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import Testing

/// What an unauthenticated client can make the server hold, and how a wrong password's delay
/// meets the deadlines and a shutdown.
@Suite("Before acceptance: frame limit, delay, deadlines", .timeLimit(.minutes(1)))
struct PreAuthenticationTests {
    static let handshakeLimit = Frame.maximumHandshakePayloadByteCount

    @Test("a frame over the handshake limit ends the connection at once, at each step before acceptance")
    func handshakeFrameLimit() async throws {
        try await LiveServer.with { live in
            // Right after the hello: a length prefix one byte over the limit, and nothing else.
            // Each from its own address: the violations earn penalties.
            var early = try await RawClient.connect(port: live.port, from: "127.0.40.1")
            _ = try #require(await early.nextFrame())
            try await early.sendRaw(Frame.header(payloadLength: Self.handshakeLimit + 1))
            let start = ContinuousClock.now
            let reason = try #require(await early.waitForClose(within: .seconds(5)).reason)
            #expect(reason.code == .frameTooLarge)
            #expect(reason.message.contains("\(Self.handshakeLimit)"))
            #expect(ContinuousClock.now - start < .seconds(2), "closed at once, not at a deadline")

            // Waiting for the password: a 64 KiB frame (far below the session's 1 MiB maximum).
            var later = try await RawClient.connect(port: live.port, from: "127.0.40.2")
            try await later.exchangeKeys()
            #expect(try await later.receive() == .passwordPrompt)
            try await later.sendRaw(Frame.header(payloadLength: 64 << 10))
            #expect(await later.waitForClose(within: .seconds(5)).reason?.code == .frameTooLarge)

            // A frame of exactly the limit is read: as a key exchange it is garbage, rejected
            // implicitly, so the handshake goes on to the password prompt.
            var exact = try await RawClient.connect(port: live.port, from: "127.0.40.3")
            _ = try #require(await exact.nextFrame())
            try await exact.sendFrame([UInt8](repeating: 7, count: Self.handshakeLimit))
            let prompt = try #require(await exact.nextFrame())
            #expect(prompt.count > 16, "a sealed password prompt, not a closing message: \(prompt.count) bytes")
            await exact.close()
        }
    }

    @Test("once accepted, the session's frame limit applies")
    func sessionFrameLimitAfterAcceptance() async throws {
        try await LiveServer.with { live in
            let session = try await live.connect()
            let body = [UInt8](repeating: 0x5a, count: 512 << 10)
            #expect(try await session.request(service: "echo", body: body) == body)
            await session.close()
        }
    }

    @Test("a client configured with a password over 1,024 bytes is refused at configuration")
    func longPasswordRefused() throws {
        let long = String(repeating: "p", count: Frame.maximumPasswordByteCount + 1)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.validate(password: long) }
        try ServerConfiguration.validate(password: String(repeating: "p", count: Frame.maximumPasswordByteCount))
    }

    @Test("nothing is read during a wrong password's delay: frames sent then change nothing")
    func nothingReadDuringDelay() async throws {
        try await LiveServer.with(Tweak { $0.admission.penalties.wrongPasswordDelay = .milliseconds(600) }) { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            let start = ContinuousClock.now
            try await raw.send(.password("wrong"))
            // A message out of order, then an oversized prefix: either, if read, would end the
            // connection at once with its own code (2 or 3).
            try await raw.send(.name("eve"))
            try await raw.sendRaw(Frame.header(payloadLength: 1 << 20))
            let close = await raw.waitForClose(within: .seconds(5))
            #expect(close.reason?.code == .wrongPassword)
            #expect(ContinuousClock.now - start >= .milliseconds(600))
        }
    }

    @Test(
        "a deadline that passes during the delay closes with code 5 at that deadline (test clock)",
        arguments: [
            // The step's deadline (0.8 s), or the whole handshake's (0.9 s), against a 5 s delay.
            (Duration.milliseconds(800), Duration.seconds(30), "awaiting password"),
            (.seconds(10), .milliseconds(900), "handshake not completed"),
        ])
    func deadlineDuringDelay(step: Duration, total: Duration, named: String) async throws {
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.handshakeStepTimeout = step
            $0.handshakeTimeout = total
            $0.admission.penalties.wrongPasswordDelay = .seconds(5)
        }
        try await LiveServer.with(tweak) { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            // The clock has not moved: the password step ends at the nearer of the two limits, and
            // the rejection, due in 5 s, keeps that deadline.
            let deadline = clock.now.advanced(by: min(step, total))
            let armed = clock.armedCount(at: deadline)
            try await raw.send(.password("wrong"))
            // The wrong password has been judged: its delay armed the deadline again.
            await clock.waitForArmed(count: armed + 1, at: deadline)
            clock.advance(by: min(step, total))
            let close = await raw.waitForClose(within: .seconds(10))
            #expect(close.reason?.code == .handshakeTimeout)
            #expect(close.reason?.message.contains(named) == true, "\(String(describing: close.reason))")
        }
    }

    @Test("a graceful shutdown during the delay closes with code 9 at once (test clock)")
    func shutdownDuringDelay() async throws {
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.handshakeStepTimeout = .seconds(60)
            $0.handshakeTimeout = .seconds(120)
            $0.admission.penalties.wrongPasswordDelay = .seconds(20)
        }
        try await LiveServer.with(tweak) { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            let rejectAt = clock.now.advanced(by: .seconds(20))
            try await raw.send(.password("wrong"))
            // The delay has begun when its end is armed; the clock then stands still, so only the
            // shutdown can end it.
            await clock.waitForPending(at: rejectAt)
            await live.group.triggerGracefulShutdown()
            let close = await raw.waitForClose(within: .seconds(10))
            #expect(close.reason?.code == .serverStopping)
        }
    }
}

@Suite("Keepalive", .timeLimit(.minutes(1)))
struct KeepaliveTests {
    /// A server on `clock`, with keepalive every 30 s and an idle timeout of 90 s.
    static func tweak(_ clock: TestClock, keepalive: Duration = .seconds(30), idle: Duration = .seconds(90)) -> Tweak {
        Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.keepaliveInterval = keepalive
            $0.idleTimeout = idle
        }
    }

    @Test("a ping follows every keepalive interval of silence, also after an answered ping (test clock)")
    func pingAfterEveryInterval() async throws {
        let clock = TestClock()
        try await LiveServer.with(Self.tweak(clock)) { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
            // Just before the interval nothing has been sent: the answer to a query comes first.
            clock.advance(by: .seconds(30) - .milliseconds(1))
            try await raw.send(.serverNameQuery)
            #expect(try await raw.receive() == .serverName("Laboratory"))
            for round in 0..<4 {
                // 30 s after the last frame (the query, then each pong): a ping.
                clock.advance(by: .seconds(30))
                guard case .ping(let value)? = try await raw.receive() else {
                    Issue.record("expected a keepalive ping in round \(round)")
                    return
                }
                try await raw.send(.pong(value))
                // Once the server has read the pong (it answers the query after it), its silence
                // counts from there. Before the fix the next ping came idle − keepalive = 60 s later.
                try await raw.send(.serverNameQuery)
                #expect(try await raw.receive() == .serverName("Laboratory"))
            }
            await raw.close()
        }
    }

    @Test("a client that answers every ping is never dropped as idle; one that stops is (test clock)")
    func answeringClientStays() async throws {
        let clock = TestClock()
        try await LiveServer.with(Self.tweak(clock, keepalive: .milliseconds(100), idle: .milliseconds(600))) { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
            for round in 0..<30 {
                clock.advance(by: .milliseconds(100))
                guard case .ping(let value)? = try await raw.receive() else {
                    Issue.record("expected a ping in round \(round), 3 s of clock time in all")
                    return
                }
                try await raw.send(.pong(value))
                try await raw.send(.serverNameQuery)
                #expect(try await raw.receive() == .serverName("Laboratory"))
            }
            // Then silence: one more ping, and the idle timeout 600 ms after the last frame.
            clock.advance(by: .milliseconds(100))
            guard case .ping? = try await raw.receive() else {
                Issue.record("expected a last ping")
                return
            }
            clock.advance(by: .milliseconds(500))
            let reason = try await raw.closeReason()
            #expect(reason?.code == .idleTimeout)
        }
    }
}
