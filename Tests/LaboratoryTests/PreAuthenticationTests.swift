import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
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
        "a deadline that passes during the delay closes with code 5 at that deadline",
        arguments: [
            // The step's deadline (0.8 s), or the whole handshake's (0.9 s), against a 5 s delay.
            (Duration.milliseconds(800), Duration.seconds(30), "awaiting password"),
            (.seconds(10), .milliseconds(900), "handshake not completed"),
        ])
    func deadlineDuringDelay(step: Duration, total: Duration, named: String) async throws {
        try await LiveServer.with(
            Tweak {
                $0.handshakeStepTimeout = step
                $0.handshakeTimeout = total
                $0.admission.penalties.wrongPasswordDelay = .seconds(5)
            }
        ) { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            let start = ContinuousClock.now
            try await raw.send(.password("wrong"))
            let close = await raw.waitForClose(within: .seconds(10))
            #expect(close.reason?.code == .handshakeTimeout)
            #expect(close.reason?.message.contains(named) == true, "\(String(describing: close.reason))")
            #expect(
                ContinuousClock.now - start < Sanitizer.slack(.seconds(3)),
                "closed at the deadline, not after the delay")
        }
    }

    @Test("a graceful shutdown during the delay closes with code 9 at once")
    func shutdownDuringDelay() async throws {
        try await LiveServer.with(Tweak { $0.admission.penalties.wrongPasswordDelay = .seconds(20) }) { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            try await raw.send(.password("wrong"))
            // Let the password arrive and the delay begin.
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            await live.group.triggerGracefulShutdown()
            let close = await raw.waitForClose(within: .seconds(10))
            #expect(close.reason?.code == .serverStopping)
            #expect(ContinuousClock.now - start < Sanitizer.slack(.seconds(2)))
        }
    }
}

@Suite("Keepalive", .timeLimit(.minutes(1)))
struct KeepaliveTests {
    @Test("a ping follows every keepalive interval of silence, also after an answered ping")
    func pingAfterEveryInterval() async throws {
        try await LiveServer.with(
            Tweak {
                $0.keepaliveInterval = .milliseconds(300)
                $0.idleTimeout = .seconds(3)
            }
        ) { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
            var gaps: [Duration] = []
            var lastSent = ContinuousClock.now
            for _ in 0..<8 {
                guard case .ping(let value)? = try await raw.receive() else {
                    Issue.record("expected a keepalive ping")
                    return
                }
                gaps.append(ContinuousClock.now - lastSent)
                try await raw.send(.pong(value))
                lastSent = .now
            }
            // Before the fix the next ping came (idle timeout − keepalive) = 2.7 s after a pong.
            let median = gaps.sorted()[gaps.count / 2]
            #expect(median >= .milliseconds(250))
            #expect(median < Sanitizer.slack(.milliseconds(1200)), "gaps between pong and next ping: \(gaps)")
            await raw.close()
        }
    }

    @Test("a client that answers every ping is never dropped as idle, over many rounds")
    func answeringClientStays() async throws {
        try await LiveServer.with(
            Tweak {
                $0.keepaliveInterval = .milliseconds(100)
                $0.idleTimeout = .milliseconds(600)
            }
        ) { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
            var pings = 0
            while pings < 30 {
                guard let message = try await raw.receive() else {
                    Issue.record("the server closed the session after \(pings) answered pings")
                    return
                }
                switch message {
                case .ping(let value):
                    pings += 1
                    try await raw.send(.pong(value))
                case .closing(let reason):
                    Issue.record("closed after \(pings) answered pings: \(reason)")
                    return
                default:
                    continue
                }
            }
            try await raw.send(.serverNameQuery)
            #expect(try await raw.receive() == .serverName("Laboratory"))
            await raw.close()
        }
    }
}

extension Adversarial {
    /// The memory an unauthenticated flood can make the server hold, against the
    /// `laboratory-server` process (its memory alone, from `/proc`).
    @Suite("Pre-authentication memory", .timeLimit(.minutes(2)))
    struct PreAuthenticationMemoryTests {
        @Test("wrong passwords followed by 1 MiB frames from 270 connections: bounded peak, memory given back")
        func wrongPasswordThenLargeFrames() async throws {
            // Every attacker admitted at once (the worst case for memory): 90 addresses × 3.
            let target = try await TargetProcess.start(["--max-startups", "400:30:500"])
            try await Task.sleep(for: .seconds(1))
            let before = try target.memory()
            // One 1 MiB frame, shared by every write (a ByteBuffer is copied on write only).
            var large = ByteBuffer()
            large.writeInteger(UInt32(1 << 20))
            large.writeRepeatingByte(0x41, count: 1 << 20)
            let frame = large
            // Each address in its own /24, so that the per-network cap does not refuse them.
            let outcomes = await Self.wrongPasswordThenSend(
                port: target.port, from: (0..<270).map { AttackSource.network(block: 41, $0 / 3) }
            ) { channel in
                // Never awaited: the server is expected to stop reading.
                for _ in 0..<10 { channel.writeAndFlush(frame, promise: nil) }
            }
            let atEnd = try target.memory()
            // The server gives freed memory back within its reclaim interval (10 s) after a burst.
            var settled = atEnd
            let deadline = ContinuousClock.now + .seconds(40)
            while settled.resident > before.resident + before.resident / 10, ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(1))
                settled = try target.memory()
            }
            print("pre-auth memory: before \(before), at the end \(atEnd), settled \(settled)")
            let rejected = outcomes.filter { $0 == .wrongPassword }.count
            #expect(rejected >= 250, "most attackers get their code 6: \(outcomes)")
            #expect(!outcomes.contains(.frameTooLarge), "a frame sent during the delay was read")
            ProcessMemory.expectGrowth(from: before, to: atEnd, below: 64 << 20)
            if !Sanitizer.isActive {
                #expect(
                    settled.resident <= before.resident + before.resident / 10,
                    "resident memory stayed at \(settled) after the attack (before: \(before))")
            }
            await target.stop()
        }

        /// Frames within the 4 KiB limit pass the decoder, so what the connection had read before
        /// its wrong password's delay began stays buffered until it ends. NIO read up to 4 × 64
        /// KiB per readable event before the inbound stream's backpressure applied: about 310 KiB
        /// per connection (+76 MiB for these 250). Reading once, at most 4 KiB, per event until
        /// acceptance bounds it by the stream's watermark: about 115 KiB with the connection's own
        /// state, the same whether 64 KiB or 256 KiB were sent.
        @Test("wrong passwords followed by 64 legal 4 KiB frames from 250 connections: bounded peak")
        func wrongPasswordThenHandshakeSizedFrames() async throws {
            let target = try await TargetProcess.start(["--max-startups", "400:30:500"])
            try await Task.sleep(for: .seconds(1))
            let before = try target.memory()
            var frames = ByteBuffer()
            for _ in 0..<64 {
                frames.writeInteger(UInt32(Frame.maximumHandshakePayloadByteCount))
                frames.writeRepeatingByte(0x41, count: Frame.maximumHandshakePayloadByteCount)
            }
            let burst = frames
            let outcomes = await Self.wrongPasswordThenSend(
                port: target.port, from: (0..<250).map { AttackSource.network(block: 43, $0) }
            ) { channel in
                channel.writeAndFlush(burst, promise: nil)
            }
            let atEnd = try target.memory()
            print("pre-auth buffers: before \(before), at the end \(atEnd)")
            #expect(outcomes.filter { $0 == .wrongPassword }.count >= 240, "attackers get their code 6: \(outcomes)")
            ProcessMemory.expectGrowth(from: before, to: atEnd, below: 48 << 20)
            await target.stop()
        }

        /// One connection from each of `sources` at once: completes the key exchange, sends a
        /// wrong password, then `send`s on its channel without waiting; returns the close code
        /// each got (`nil` if it got none, or failed before).
        static func wrongPasswordThenSend(
            port: Int, from sources: [String], _ send: @escaping @Sendable (any Channel) -> Void
        ) async -> [CloseReason.Code?] {
            await withTaskGroup(of: CloseReason.Code?.self) { group in
                for source in sources {
                    group.addTask {
                        do {
                            var raw = try await RawClient.connect(port: port, from: source)
                            try await raw.exchangeKeys()
                            guard try await raw.receive() == .passwordPrompt else { return nil }
                            try await raw.send(.password("a wrong guess"))
                            send(raw.channel)
                            return await raw.waitForClose(within: .seconds(30)).reason?.code
                        } catch {
                            return nil
                        }
                    }
                }
                var codes: [CloseReason.Code?] = []
                for await code in group { codes.append(code) }
                return codes
            }
        }
    }
}
