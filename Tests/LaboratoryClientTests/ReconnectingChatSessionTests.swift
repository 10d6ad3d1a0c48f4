import Laboratory
import LaboratoryClient
import LaboratoryTestSupport
import Testing

/// ``ReconnectingChatSession`` against a real server over real sockets: a network cut (a relay
/// that closes every connection and refuses new ones for a while), a server stopped and started
/// again on the same port, a kick, a changed password or key, and a locked-out address
/// (PROTOCOL.md §17, *Reconnecting and resuming*).
@Suite("Reconnecting chat session (live)", .timeLimit(.minutes(1)))
struct ReconnectingChatSessionTests {
    typealias Update = ReconnectingChatSession.Update

    /// Short waits, so that the tests do not wait for the default backoff.
    static var fast: ReconnectingChatSession.Configuration {
        var configuration = ReconnectingChatSession.Configuration()
        configuration.policy = ReconnectPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(400))
        return configuration
    }

    static func connect(port: Int, configuration: ReconnectingChatSession.Configuration = fast) async throws
        -> ReconnectingChatSession
    {
        try await ReconnectingChatSession.connect(
            host: "127.0.0.1", port: port, password: LiveServer.password, name: "ada",
            trust: .pinned(fingerprint: LiveServer.hostKey.publicKey.fingerprint), configuration: configuration)
    }

    /// A server on `port` (a restart on the port of a previous one), with `password` and `hostKey`.
    static func restarted(
        on port: Int, password: String = LiveServer.password, hostKey: RSAPrivateKey = LiveServer.hostKey
    ) -> Tweak {
        Tweak { configuration in
            guard var fresh = try? ServerConfiguration(hostKey: hostKey, password: password) else { return }
            fresh.port = port
            fresh.shutdownGracePeriod = configuration.shutdownGracePeriod
            fresh.transportKeys = configuration.transportKeys
            configuration = fresh
        }
    }

    static func say(_ session: ClientSession, _ text: String, in room: String = "lobby") async throws {
        _ = try await session.chat(.say(room: room, text: text))
    }

    @Test("after a network cut: backoff while the path is down, then every message said meanwhile, once, in order")
    func networkCut() async throws {
        try await LiveServer.with { live in
            let proxy = try await CuttableProxy(upstreamPort: live.port)
            let chat = try await Self.connect(port: proxy.port)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            for number in 1...3 { try await Self.say(bob, "before \(number)") }
            try await reader.message("before 3")

            // A short cut: the path comes back at once.
            let firstCut = ContinuousClock.now
            proxy.cutAll()
            #expect(try await reader.disconnected() == nil)
            let quick = try await reader.resumed()
            let quickResume = ContinuousClock.now - firstCut
            #expect(quick.missedMessages == 0 && quick.rooms == ["lobby"] && quick.attempts == 1)

            // A longer one: nothing gets through until the test opens the path again.
            proxy.refusesConnections = true
            proxy.cutAll()
            #expect(try await reader.disconnected() == nil)
            for number in 1...20 { try await Self.say(bob, "during \(number)") }
            let refused = try await reader.failedAttempt()
            #expect(refused.code == .connectionClosed || refused.code == .connectionFailed, "\(refused)")
            let reopened = ContinuousClock.now
            proxy.refusesConnections = false
            let resumption = try await reader.resumed()
            let resumedAfterReopening = ContinuousClock.now - reopened
            #expect(resumption.missedMessages == 20)
            #expect(resumption.attempts >= 2)
            #expect(resumption.connectionID == chat.session.acceptance.connectionID)
            #expect(resumption.connectionID != quick.connectionID)
            try await Self.say(bob, "after")
            try await reader.message("after")

            let said =
                (1...3).map { "before \($0)" } + (1...20).map { "during \($0)" } + ["after"]
            #expect(reader.chats.filter { $0.kind == .message }.compactMap(\.text) == said)
            // Every event of the room from the first join on, each once: consecutive numbers.
            let numbers = reader.chats.compactMap(\.sequence)
            #expect(numbers == Array(try #require(numbers.first)...(try #require(numbers.last))))
            print(
                "reconnect: resumed \(quickResume) after a cut with the path up; "
                    + "\(resumedAfterReopening) after the path came back (backoff 50 ms to 400 ms)")
            await chat.close()
            #expect(try await reader.ended() == .closedByUser)
            await bob.close()
            await proxy.stop()
        }
    }

    @Test("cuts while another member talks: every message once and in order, live and replayed events interleaved")
    func cutsUnderTraffic() async throws {
        // A deep history, so that a slow reconnect on a busy machine never exceeds the window.
        var limits = ChatLimits()
        limits.historySize = 5_000
        var services = ServiceRegistry()
        services.register(ChatService(limits: limits), as: "chat")
        try await LiveServer.with(services: services) { live in
            let proxy = try await CuttableProxy(upstreamPort: live.port)
            let chat = try await Self.connect(port: proxy.port)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            let total = 400
            // Paced, so that messages keep arriving while the client resumes.
            let talker = Task {
                for number in 1...total {
                    try await Self.say(bob, "m\(number)")
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            var resumptions: [ReconnectingChatSession.Resumption] = []
            for mark in [60, 140, 220] {
                try await reader.message("m\(mark)")
                proxy.cutAll()
                resumptions.append(try await reader.resumed())
            }
            try await talker.value
            try await reader.message("m\(total)")
            #expect(reader.chats.filter { $0.kind == .message }.compactMap(\.text) == (1...total).map { "m\($0)" })
            let numbers = reader.chats.compactMap(\.sequence)
            #expect(numbers == Array(try #require(numbers.first)...(try #require(numbers.last))))
            #expect(!reader.all.contains { if case .missedHistory = $0 { true } else { false } })
            print("reconnect under traffic: missed messages replayed per cut: \(resumptions.map(\.missedMessages))")
            await chat.close()
            await bob.close()
            await proxy.stop()
        }
    }

    @Test("more said during the outage than the server keeps: the gap is reported, the rest delivered")
    func windowExceeded() async throws {
        var limits = ChatLimits()
        limits.historySize = 10
        var services = ServiceRegistry()
        services.register(ChatService(limits: limits), as: "chat")
        try await LiveServer.with(services: services) { live in
            let proxy = try await CuttableProxy(upstreamPort: live.port)
            let chat = try await Self.connect(port: proxy.port)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            try await reader.until("bob's join") {
                if case .chat(let event) = $0, event.name == "bob" { true } else { nil }
            }
            let last = try #require(reader.chats.last?.sequence)
            proxy.refusesConnections = true
            proxy.cutAll()
            _ = try await reader.disconnected()
            for number in 1...30 { try await Self.say(bob, "during \(number)") }
            proxy.refusesConnections = false
            let (from, to) = try await reader.until("the gap") {
                if case .missedHistory("lobby", let from, let to) = $0 { (from, to) } else { nil }
            }
            let resumption = try await reader.resumed()
            #expect(from == last + 1 && to >= from)
            // What follows the gap is delivered from the number after it, and it is the end of
            // what bob said.
            let after = reader.chats.filter { ($0.sequence ?? 0) > last }
            #expect(after.first?.sequence == to + 1)
            let texts = after.filter { $0.kind == .message }.compactMap(\.text)
            #expect(texts.count == resumption.missedMessages && texts.count >= 5)
            #expect(texts == (1...30).suffix(texts.count).map { "during \($0)" })
            await chat.close()
            await bob.close()
            await proxy.stop()
        }
    }

    @Test("a silent cut (no reset, no FIN) is noticed by the unanswered ping, then resumed")
    func silentCut() async throws {
        try await LiveServer.with { live in
            let proxy = try await CuttableProxy(upstreamPort: live.port)
            var configuration = Self.fast
            configuration.livenessInterval = .milliseconds(300)
            let chat = try await Self.connect(port: proxy.port, configuration: configuration)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            let frozen = ContinuousClock.now
            await proxy.freezeAll()
            try await Self.say(bob, "into the void")
            #expect(try await reader.disconnected() == nil)
            let noticed = ContinuousClock.now - frozen
            // At most one interval until the ping, one more for its answer (plus scheduling).
            #expect(noticed < .seconds(5))
            let resumption = try await reader.resumed()
            #expect(resumption.missedMessages == 1)
            #expect(reader.chats.filter { $0.kind == .message }.compactMap(\.text) == ["into the void"])
            print("reconnect: a silent cut was noticed after \(noticed) (liveness interval 300 ms)")
            await chat.close()
            await bob.close()
            await proxy.stop()
        }
    }

    @Test("after a server restart the client reconnects, is told the numbering restarted, and chats on")
    func serverRestart() async throws {
        let (chat, port, reader) = try await LiveServer.with { live in
            let chat = try await Self.connect(port: live.port)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            for number in 1...5 { try await Self.say(bob, "first run \(number)") }
            try await reader.message("first run 5")
            await bob.close()
            return (chat, live.port, reader)
        }
        var updates = reader
        // The graceful stop: the server's notice, then its close with code 9 (server stopping).
        #expect(try await updates.disconnected()?.code == .serverStopping)
        // Nothing listens on the port for a while: attempts fail and back off.
        let refused = try await updates.failedAttempt()
        #expect(refused.code == .connectionFailed)
        try await LiveServer.with(Self.restarted(on: port)) { live in
            #expect(live.port == port)
            #expect(try await updates.restarted() == "lobby")
            _ = try await updates.resumed()
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            try await Self.say(bob, "second run")
            try await updates.message("second run")
            #expect(
                updates.chats.filter { $0.kind == .message }.compactMap(\.text) == (1...5).map { "first run \($0)" } + [
                    "second run"
                ])
            await chat.close()
            await bob.close()
        }
    }

    @Test("a kick (code 17) ends the session: no attempt to reconnect")
    func noReconnectAfterKick() async throws {
        let tap = SessionTap()
        try await LiveServer.with(listeners: [tap]) { live in
            let proxy = try await CuttableProxy(upstreamPort: live.port)
            let chat = try await Self.connect(port: proxy.port)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            #expect(tap.kick(chat.session.acceptance.connectionID, reason: "spamming"))
            let reason = try await reader.disconnected()
            #expect(reason == CloseReason(.kicked, "spamming"))
            // The very next update is the end: no wait, no attempt.
            let next = try await reader.until("the update after the loss") { $0 }
            guard case .ended(let ending) = next else {
                Issue.record("after a kick the session went on: \(next)")
                await chat.close()
                await proxy.stop()
                return
            }
            #expect(ending == .lost(CloseReason(.kicked, "spamming")))
            #expect(proxy.acceptedConnections == 1)
            await proxy.stop()
        }
    }

    @Test("a changed password or server key after a restart ends the session after one attempt")
    func finalFailuresAfterRestart() async throws {
        for (password, hostKey, code) in [
            ("a different password entirely", LiveServer.hostKey, ClientError.Code.wrongPassword),
            (LiveServer.password, TestKeys.other, .serverKeyMismatch),
        ] {
            let (port, reader) = try await LiveServer.with { live in
                let chat = try await Self.connect(port: live.port)
                var reader = UpdateReader(chat)
                _ = try await chat.join("lobby")
                try await reader.until("the joined event") { if case .chat = $0 { true } else { nil } }
                return (live.port, reader)
            }
            var updates = reader
            #expect(try await updates.disconnected()?.code == .serverStopping)
            try await LiveServer.with(Self.restarted(on: port, password: password, hostKey: hostKey)) { _ in
                guard case .gaveUp(let error) = try await updates.ended() else {
                    Issue.record("the session did not give up: \(updates.all.suffix(3))")
                    return
                }
                #expect(error.code == code)
                // Attempts before the new server listened were refused; the one that reached it was the last.
                let attempts = updates.all.filter { if case .reconnecting = $0 { true } else { false } }
                #expect(attempts.count >= 1)
            }
        }
    }

    @Test("a locked-out address: the next attempt waits at least the refusal's retry_ms")
    func lockoutRespected() async throws {
        let log = CapturedLog()
        let lockingOut = Tweak {
            // One wrong password: a 17 s penalty against the 15 s threshold, about 2 s of lockout.
            $0.admission.penalties.wrongPassword = .seconds(17)
            $0.admission.penalties.wrongPasswordDelay = .milliseconds(20)
            $0.admission.penalties.perSecondUnfinished = .zero
            $0.admission.penalties.unauthenticatedDisconnect = .zero
        }
        try await LiveServer.with(lockingOut, logger: log.logger()) { live in
            let proxy = try await CuttableProxy(upstreamPort: live.port)
            let chat = try await Self.connect(port: proxy.port)
            var reader = UpdateReader(chat)
            _ = try await chat.join("lobby")
            var raw = try await RawClient.connect(port: live.port)
            _ = try? await raw.handshake(password: "a guess")
            await raw.close()
            await log.waitFor(
                "source locked out: its connections are refused until its penalty falls below the threshold")
            proxy.cutAll()
            _ = try await reader.disconnected()
            let refusal = try await reader.failedAttempt()
            let retryAfter = try #require(refusal.retryAfter, "\(refusal)")
            #expect(refusal.code == .rejected && retryAfter > .milliseconds(500) && retryAfter <= .seconds(2))
            guard case .reconnecting(let delay, _, _) = try #require(reader.all.last) else {
                Issue.record("no reconnecting update")
                return
            }
            #expect(delay >= retryAfter)
            let waited = ContinuousClock.now
            _ = try await reader.resumed()
            #expect(ContinuousClock.now - waited >= retryAfter - .milliseconds(50))
            // Refused once, then let in: no attempt was wasted inside the lockout.
            let refusals = reader.all.filter { if case .reconnecting(_, _, _?) = $0 { true } else { false } }
            #expect(refusals.count == 1)
            await chat.close()
            await proxy.stop()
        }
    }
}

/// Reads a reconnecting session's updates in order, keeping what it passed. (Unchecked: a test
/// hands it from one server's scope to the next; it is never used by two tasks at once.)
struct UpdateReader: @unchecked Sendable {
    typealias Update = ReconnectingChatSession.Update

    private var iterator: AsyncStream<Update>.Iterator
    /// Every update read so far.
    private(set) var all: [Update] = []
    /// Every chat event read so far.
    private(set) var chats: [ChatEvent] = []

    init(_ session: ReconnectingChatSession) { iterator = session.updates.makeAsyncIterator() }

    /// Reads until `match` returns a value; throws if the updates end first.
    @discardableResult
    mutating func until<T>(_ what: String, _ match: (Update) -> T?) async throws -> T {
        while let update = await iterator.next() {
            all.append(update)
            if case .chat(let event) = update { chats.append(event) }
            if let value = match(update) { return value }
        }
        throw UpdatesEnded(waitingFor: what, last: all.suffix(4).map { "\($0)" })
    }

    mutating func message(_ text: String) async throws {
        try await until("the message \(text)") {
            if case .chat(let event) = $0, event.text == text { true } else { nil }
        }
    }

    /// The reason the next loss gave.
    mutating func disconnected() async throws -> CloseReason? {
        try await until("a lost connection") { if case .disconnected(let reason) = $0 { .some(reason) } else { nil } }
    }

    /// The error of the next failed attempt.
    mutating func failedAttempt() async throws -> ClientError {
        try await until("a failed attempt") { if case .reconnecting(_, _, let error?) = $0 { error } else { nil } }
    }

    mutating func resumed() async throws -> ReconnectingChatSession.Resumption {
        try await until("a resumption") { if case .resumed(let resumption) = $0 { resumption } else { nil } }
    }

    mutating func restarted() async throws -> String {
        try await until("a numbering restart") { if case .numberingRestarted(let room) = $0 { room } else { nil } }
    }

    mutating func ended() async throws -> ReconnectingChatSession.Ending {
        try await until("the end") { if case .ended(let ending) = $0 { ending } else { nil } }
    }
}

struct UpdatesEnded: Error, CustomStringConvertible {
    var waitingFor: String
    var last: [String]
    var description: String { "the updates ended while waiting for \(waitingFor); last: \(last)" }
}
