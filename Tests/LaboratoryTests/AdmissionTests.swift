import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import Testing

@Suite("Admission, penalties and timeouts", .timeLimit(.minutes(1)))
struct AdmissionTests {
    @Test("a wrong-password flood penalises its source; other sources still get in")
    func wrongPasswordPenalty() async throws {
        try await LiveServer.with(Tweak { $0.admission.penalties.wrongPasswordDelay = .milliseconds(20) }) { live in
            var refusedAfter: Int?
            for attempt in 1...8 {
                var raw = try await RawClient.connect(port: live.port, from: "127.0.0.2")
                let first = try #require(await raw.nextFrame())
                if case .closing(let reason)? = try? ServerMessage(decoding: first) {
                    #expect(reason.code == .refused)
                    refusedAfter = attempt - 1
                    break
                }
                let error = try await #require(throws: RawClientError.self) {
                    try await raw.handshakeAfterHello(first, password: "guess \(attempt)")
                }
                #expect(error.description.contains("wrong password"))
            }
            // 5 s a failure against a 15 s threshold, and penalties decay as time passes: three
            // failures come to just under 15 s, so the fifth attempt is normally the first refused
            // (later if the machine is so slow that attempts take seconds each).
            let failures = try #require(refusedAfter)
            #expect((4...7).contains(failures))
            let honest = try await live.connect()
            #expect(try await honest.request(service: "echo", body: [1]) == [1])
            await honest.close()
        }
    }

    @Test("a wrong password is answered only when the delay is over (test clock)")
    func wrongPasswordDelay() async throws {
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.admission.penalties.wrongPasswordDelay = .milliseconds(400)
        }
        try await LiveServer.with(tweak) { live in
            let rejectAt = clock.now.advanced(by: .milliseconds(400))
            let attempt = Task {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: "wrong", name: "eve",
                    trust: .pinned(fingerprint: live.fingerprint))
            }
            // The password has been judged wrong: the rejection waits on the clock, and only a
            // clock that reaches the end of the delay sends it.
            await clock.waitForPending(at: rejectAt)
            clock.advance(by: .milliseconds(400))
            let error = await #expect(throws: ClientError.self) { try await attempt.value }
            #expect(error?.code == .wrongPassword)
        }
    }

    @Test("exempt sources are never penalised")
    func exempt() async throws {
        try await LiveServer.with(
            Tweak {
                $0.admission.penalties.wrongPasswordDelay = .zero
                $0.admission.penalties.exempt = ["127.0.0.0/24"]
            }
        ) { live in
            for _ in 0..<6 {
                await #expect(throws: ClientError.self) {
                    try await ClientSession.connect(
                        host: "127.0.0.1", port: live.port, password: "wrong", name: "eve",
                        trust: .pinned(fingerprint: live.fingerprint))
                }
            }
            let session = try await live.connect()
            await session.close()
        }
    }

    @Test("unfinished handshakes per source are capped; other sources are not affected")
    func perSourceCap() async throws {
        try await LiveServer.with(Tweak { $0.admission.maximumUnauthenticatedPerSource = 4 }) { live in
            var stalled: [RawClient] = []
            for _ in 0..<4 {
                var raw = try await RawClient.connect(port: live.port, from: "127.0.0.3")
                let hello = try #require(await raw.nextFrame())
                #expect(try ServerHello(decoding: hello).serverRandom.count == 32)
                stalled.append(raw)
            }
            var fifth = try await RawClient.connect(port: live.port, from: "127.0.0.3")
            #expect(try await fifth.closeReason()?.code == .refused)
            let honest = try await live.connect()
            #expect(try await honest.request(service: "echo", body: [2]) == [2])
            await honest.close()
            for raw in stalled { await raw.close() }
        }
    }

    @Test("MaxStartups refuses new handshakes once full")
    func maxStartups() async throws {
        try await LiveServer.with(Tweak { $0.admission.maxStartups = MaxStartups(start: 3, rate: 100, full: 3) }) {
            live in
            var stalled: [RawClient] = []
            for index in 0..<3 {
                var raw = try await RawClient.connect(port: live.port, from: "127.0.1.\(index + 1)")
                _ = try #require(await raw.nextFrame())
                stalled.append(raw)
            }
            var extra = try await RawClient.connect(port: live.port, from: "127.0.1.9")
            #expect(try await extra.closeReason()?.code == .refused)
            await stalled[0].close()
            // Once a slot frees up, handshakes are admitted again.
            var admitted = false
            for _ in 0..<50 where !admitted {
                var next = try await RawClient.connect(port: live.port, from: "127.0.1.10")
                let first = try #require(await next.nextFrame())
                admitted = (try? ServerHello(decoding: first)) != nil
                await next.close()
                if !admitted { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted)
            for raw in stalled.dropFirst() { await raw.close() }
        }
    }

    @Test("when the handshake table is full, a newcomer from another network evicts the oldest unfinished one")
    func eviction() async throws {
        try await LiveServer.with(Tweak { $0.admission.maxStartups = MaxStartups(start: 2, rate: 100, full: 2) }) {
            live in
            var stalled: [RawClient] = []
            for _ in 0..<2 {
                var raw = try await RawClient.connect(port: live.port, from: "127.0.5.1")
                _ = try ServerHello(decoding: try #require(await raw.nextFrame()))
                stalled.append(raw)
            }
            // Its own address is at its share of the full table: refused.
            var same = try await RawClient.connect(port: live.port, from: "127.0.5.1")
            #expect(try await same.closeReason()?.code == .refused)
            // A newcomer from another network gets in, and the oldest stalled handshake is told why.
            var newcomer = try await RawClient.connect(port: live.port, from: "127.0.6.1")
            _ = try await newcomer.handshake()
            let evicted = try await stalled[0].closeReason()
            #expect(evicted?.code == .refused)
            #expect(evicted?.message.hasPrefix("evicted") == true, "\(String(describing: evicted))")
            #expect(stalled[1].channel.isActive)
            await newcomer.close()
            for raw in stalled { await raw.close() }
        }
    }

    @Test("trickling bytes does not extend the handshake past its deadlines")
    func slowloris() async throws {
        try await LiveServer.with(
            Tweak {
                $0.handshakeStepTimeout = .seconds(5)
                $0.handshakeTimeout = .seconds(8)
            }
        ) { live in
            var raw = try await RawClient.connect(port: live.port, from: "127.0.2.1")
            let start = ContinuousClock.now
            try await raw.exchangeKeys()
            guard try await raw.receive() == .passwordPrompt else {
                Issue.record("no password prompt")
                return
            }
            // One byte every 2.5 s, half the step deadline: a server that reset its timer on
            // every byte would wait for the whole frame (over a minute and a half).
            let frame = Frame.encode(try raw.sealer!.seal(ClientMessage.password(LiveServer.password).encoded()))
            for byte in frame {
                guard raw.channel.isActive, ContinuousClock.now - start < .seconds(30) else { break }
                try? await raw.sendRaw([byte])
                try await Task.sleep(for: .milliseconds(2500))
            }
            let reason = try await raw.closeReason()
            let elapsed = ContinuousClock.now - start
            #expect(reason?.code == .handshakeTimeout)
            #expect(elapsed >= .seconds(5))
            #expect(elapsed < .seconds(30))
        }
    }

    @Test("an accepted client that answers nothing is pinged, then dropped at the idle timeout (test clock)")
    func idleTimeout() async throws {
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.keepaliveInterval = .milliseconds(200)
            $0.idleTimeout = .milliseconds(700)
        }
        try await LiveServer.with(tweak) { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
            clock.advance(by: .milliseconds(200))
            guard case .ping? = try await raw.receive() else {
                Issue.record("expected a keepalive ping")
                return
            }
            clock.advance(by: .milliseconds(500))
            #expect(try await raw.closeReason()?.code == .idleTimeout)
        }
    }

    @Test("a real client answers the pings by itself and stays")
    func clientAnswersPings() async throws {
        // On the real clock: what is tested is the client answering in real time, unprompted.
        try await LiveServer.with(
            Tweak {
                $0.keepaliveInterval = .milliseconds(200)
                $0.idleTimeout = .milliseconds(700)
            }
        ) { live in
            let session = try await live.connect()
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await session.request(service: "echo", body: [3]) == [3])
            await session.close()
        }
    }
}
