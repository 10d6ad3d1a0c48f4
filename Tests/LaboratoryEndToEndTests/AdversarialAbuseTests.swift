import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

extension Adversarial {
    /// Abuse by clients that speak the protocol: password guessing and refusing to read, against
    /// the `laboratory-server` process while honest clients keep calling Echo.
    @Suite("Password floods and slow consumers", .timeLimit(.minutes(1)))
    struct AbuseTests {
        @Test("a wrong-password flood from one address gets that address refused; other addresses are not")
        func wrongPasswordFlood() async throws {
            // The default penalties: 5 s a wrong password, refused from 15 s, a 1 s delay before
            // each "wrong password".
            let target = try await TargetProcess.start([])
            let honest = try await HonestTraffic.start { try await target.connect(name: $0) }
            #expect(await honest.waitForProgress())
            let before = try target.memory()
            let port = target.port
            let flooder = AttackSource.address(block: 13, 0)

            // 16 guesses at once: as many unfinished handshakes as one address may have.
            let wave = await withTaskGroup(of: Guess.self) { group in
                for index in 0..<16 {
                    group.addTask { await Guess.make(port: port, from: flooder, password: "guess \(index)") }
                }
                var guesses: [Guess] = []
                for await guess in group { guesses.append(guess) }
                return guesses
            }
            #expect(wave.allSatisfy { $0 == .wrongPassword || $0 == .refused }, "\(wave)")
            #expect(wave.contains(.wrongPassword))
            // From now on the flooder is refused at accept: no hello, no work for the server.
            for index in 0..<5 {
                #expect(await Guess.make(port: port, from: flooder, password: "more \(index)") == .refused)
            }

            // Another address that guesses once is answered, not refused, and gets in with the
            // right password; so do honest newcomers from 127.0.0.1.
            let neighbour = AttackSource.address(block: 13, 1)
            #expect(await Guess.make(port: port, from: neighbour, password: "one typo") == .wrongPassword)
            #expect(await Guess.make(port: port, from: neighbour, password: TargetProcess.password) == .accepted)
            let newcomer = try await target.connect(name: "newcomer")
            #expect(try await newcomer.request(service: "echo", body: [9]) == [9])
            await newcomer.close()

            let after = try target.memory()
            await target.finish(
                "wrong-password flood: first wave \(wave)",
                honest: honest, memoryBefore: before, after: after)
        }

        @Test(
            "a member that stops reading while a room is flooded is dropped as a slow consumer; others are unaffected")
        func slowConsumer() async throws {
            // The default outbound limits: 1,024 frames or 1 MiB queued per session.
            let target = try await TargetProcess.start([])
            let honest = try await HonestTraffic.start { try await target.connect(name: $0) }
            #expect(await honest.waitForProgress())
            let sender = try await target.connect(name: "sender")
            let reader = try await target.connect(name: "reader")
            var readerEvents = ChatEventReader(reader)
            _ = try await sender.chat(.join(room: "flood", after: nil))
            _ = try await reader.chat(.join(room: "flood", after: nil))

            // A member with a tiny receive buffer that stops reading once it has joined.
            var stalled = try await RawClient.connect(
                port: target.port, from: AttackSource.address(block: 14, 0), receiveBufferSize: 4096)
            let acceptance = try await stalled.handshake(password: TargetProcess.password, name: "stalled")
            try await stalled.send(
                .request(Request(id: 1, service: "chat", body: Array(#"{"op":"join","room":"flood"}"#.utf8))))
            // Its own "joined" event may come first; the response says whether it got in.
            var joined: Response?
            while joined == nil, let message = try await stalled.receive() {
                if case .response(let response) = message { joined = response }
            }
            #expect(joined?.status == .ok, "the stalled member could not join: \(String(describing: joined))")
            try await stalled.channel.setOption(.autoRead, value: false).get()
            let before = try target.memory()

            let sent = try await SlowConsumerFlood.run(
                from: sender, in: "flood", until: acceptance.connectionID, isDroppedSeenBy: &readerEvents,
                textBytes: 4000, maximumMessages: 5000, checkEvery: 50)
            #expect(try await sender.request(service: "echo", body: [1]) == [1])
            // Reading again, the stalled member finds that the server closed its connection.
            try await stalled.channel.setOption(.autoRead, value: true).get()
            #expect(await stalled.waitForClose(within: .seconds(10)).closedByServer)

            let after = try target.memory()
            await sender.close()
            await reader.close()
            await target.finish(
                "slow consumer: dropped after \(sent) messages of 4000 bytes",
                honest: honest, memoryBefore: before, after: after)
        }
    }
}

/// How the server answered one password guess.
enum Guess: Equatable, Sendable, CustomStringConvertible {
    case accepted, wrongPassword, refused
    case other(String)

    static func make(port: Int, from source: String, password: String) async -> Guess {
        var raw: RawClient
        do {
            raw = try await RawClient.connect(port: port, from: source)
        } catch {
            return .other("connect: \(error)")
        }
        let guess: Guess
        do {
            guess = try await answer(&raw, password: password)
        } catch {
            guess = .other("\(error)")
        }
        await raw.close()
        return guess
    }

    private static func answer(_ raw: inout RawClient, password: String) async throws -> Guess {
        guard let first = await raw.nextFrame() else { return .other("closed without a word") }
        if case .closing(let reason)? = try? ServerMessage(decoding: first) {
            return reason.code == .refused ? .refused : .other("closing: \(reason)")
        }
        try await raw.exchangeKeys(hello: first)
        guard try await raw.receive() == .passwordPrompt else { return .other("no password prompt") }
        try await raw.send(.password(password))
        switch try await raw.receive() {
        case .namePrompt?: return .accepted
        case .closing(let reason)? where reason.code == .wrongPassword: return .wrongPassword
        case let other: return .other("\(String(describing: other))")
        }
    }

    var description: String {
        switch self {
        case .accepted: "accepted"
        case .wrongPassword: "wrong password"
        case .refused: "refused"
        case .other(let what): what
        }
    }
}
