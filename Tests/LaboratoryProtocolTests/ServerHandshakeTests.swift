import Foundation
import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

typealias Handshake = ServerHandshake<TestClock>

/// The handshake's phases, for comparing states (``ServerHandshake/State`` is not Equatable).
enum Phase: String, CaseIterable, Sendable {
    case awaitingKey, awaitingPassword, rejectingPassword, awaitingName, accepted, failed
}

/// Inputs the server can receive during the handshake.
enum Input: String, CaseIterable, Sendable {
    case keyExchange, password, name, request, serverNameQuery, ping, pong, bye, rename, keyUpdate
}

/// A handshake under test with its clock and what an honest client would know.
struct Harness {
    static let password = "correct horse"
    static let timeout = Duration.seconds(10)

    let clock = TestClock()
    let serverRandom: [UInt8]
    var machine: Handshake

    init(
        allowsPlaintext: Bool = false, totalTimeout: Duration = .seconds(3600),
        wrongPasswordDelay: Duration = .seconds(1), nameAttempts: UInt8 = 3
    ) throws {
        var configuration = HandshakeConfiguration(
            identityKeySPKI: Fixtures.identityKey.publicKey.spkiDER, password: Self.password, serverName: "Lab",
            services: ["echo", "chat"], stepTimeout: Self.timeout, totalTimeout: totalTimeout,
            allowsPlaintext: allowsPlaintext, wrongPasswordDelay: wrongPasswordDelay)
        configuration.nameAttempts = nameAttempts
        serverRandom = try SecureRandom.bytes(count: 32)
        machine = Handshake(
            configuration: configuration, transportKey: Fixtures.transportOffer, connectionID: 42,
            serverRandom: serverRandom, clock: clock)
    }

    var phase: Phase {
        switch machine.state {
        case .awaitingKey: .awaitingKey
        case .awaitingPassword: .awaitingPassword
        case .rejectingPassword: .rejectingPassword
        case .awaitingName: .awaitingName
        case .accepted: .accepted
        case .failed: .failed
        }
    }

    var failure: CloseReason? {
        if case .failed(let reason) = machine.state { return reason }
        return nil
    }

    var hello: [UInt8] {
        ServerHello(
            identityKeySPKI: Fixtures.identityKey.publicKey.spkiDER, transportKey: Fixtures.transportOffer.certificate,
            serverRandom: serverRandom
        ).encoded()
    }

    /// What a client sends: a fresh secret encrypted to the key in the hello, and the keys it
    /// derives, as the client's own state machine makes them.
    func clientKeyExchange() throws -> (payload: [UInt8], keys: SessionKeys) {
        var client = ClientHandshake(credentials: .init(password: Self.password, name: "Ada"))
        _ = try client.receiveHello(hello, now: UInt64(Date().timeIntervalSince1970 * 1000))
        let actions = try client.trustDecided(mismatch: nil, secret: try SecureRandom.bytes(count: 32))
        guard case .sendPlaintext(let payload) = actions.first, case .installKeys(let keys) = actions.last else {
            throw UnexpectedClientActions(actions: actions)
        }
        return (payload, keys)
    }

    /// Feeds `input` (the correct password and a valid name for those two).
    mutating func feed(_ input: Input) throws -> [Handshake.Action] {
        switch input {
        case .keyExchange: return try machine.receiveKeyExchange(clientKeyExchange().payload)
        case .password: return try machine.receive(.password(Self.password))
        case .name: return try machine.receive(.name("Ada"))
        case .request: return try machine.receive(.request(Request(id: 1, service: "echo", body: [1])))
        case .serverNameQuery: return try machine.receive(.serverNameQuery)
        case .ping: return try machine.receive(.ping(7))
        case .pong: return try machine.receive(.pong(7))
        case .bye: return try machine.receive(.bye)
        case .rename: return try machine.receive(.rename(requestID: 1, name: "Ada"))
        case .keyUpdate: return try machine.receive(.keyUpdate(try KeyUpdate.random(requestsUpdate: true)))
        }
    }

    /// Drives the machine along the happy path until it reaches `target`.
    mutating func advance(to target: Phase) throws {
        _ = machine.start()
        let path: [(Phase, Input)] = [
            (.awaitingKey, .keyExchange), (.awaitingPassword, .password), (.awaitingName, .name),
        ]
        for (phase, input) in path where self.phase != target {
            #expect(self.phase == phase)
            _ = try feed(input)
        }
        #expect(self.phase == target)
    }

    func deadline(after delay: Duration) -> TestClock.Instant { clock.now.advanced(by: delay) }
}

@Suite("ServerHandshake")
struct ServerHandshakeTests {
    static let steps: [Phase] = [.awaitingKey, .awaitingPassword, .awaitingName, .accepted]
    static let advancing: [Phase: (Input, Phase)] = [
        .awaitingKey: (.keyExchange, .awaitingPassword),
        .awaitingPassword: (.password, .awaitingName),
        .awaitingName: (.name, .accepted),
    ]

    @Test("Only the expected input advances; every other one is a protocol violation", arguments: steps, Input.allCases)
    func transitionTable(step: Phase, input: Input) throws {
        var harness = try Harness()
        try harness.advance(to: step)
        if case (let expected, let next)? = Self.advancing[step], expected == input {
            let actions = try harness.feed(input)
            #expect(harness.phase == next)
            #expect(!actions.isEmpty)
        } else {
            let error = try #require(throws: ProtocolError.self) { try harness.feed(input) }
            #expect(error.closeReason.code == .protocolViolation)
            #expect(harness.phase == .failed)
            #expect(harness.failure == error.closeReason)
            #expect(!harness.machine.expectsKeyExchange)
        }
    }

    @Test("A failed machine refuses every input", arguments: Input.allCases)
    func failedRefusesEverything(input: Input) throws {
        var harness = try Harness(wrongPasswordDelay: .zero)
        try harness.advance(to: .awaitingPassword)
        _ = try harness.machine.receive(.password("wrong"))
        #expect(harness.phase == .failed)
        #expect(throws: ProtocolError.self) { try harness.feed(input) }
        #expect(harness.phase == .failed)
        #expect(harness.machine.deadlineExpired() == [])
    }

    @Test("The happy path produces exactly the documented actions")
    func happyPath() throws {
        var harness = try Harness()
        #expect(harness.machine.expectsKeyExchange)
        #expect(
            harness.machine.start() == [
                .sendPlaintext(harness.hello), .setDeadline(harness.deadline(after: .seconds(10))),
            ])
        #expect(harness.machine.start() == [], "start's actions are given once")

        let client = try harness.clientKeyExchange()
        #expect(
            try harness.machine.receiveKeyExchange(client.payload)
                == [
                    .installKeys(client.keys), .send(.passwordPrompt),
                    .setDeadline(harness.deadline(after: .seconds(10))),
                ])
        #expect(!harness.machine.expectsKeyExchange)

        #expect(
            try harness.machine.receive(.password(Harness.password))
                == [.send(.namePrompt), .setDeadline(harness.deadline(after: .seconds(10)))])
        #expect(
            try harness.machine.receive(.name("Zoë 42"))
                == [
                    .accept(displayName: "Zoë 42"), .setDeadline(nil),
                    .send(.accepted(Acceptance(connectionID: 42, serverName: "Lab", services: ["echo", "chat"]))),
                ])
        guard case .accepted(let accepted) = harness.machine.state else {
            Issue.record("not accepted: \(harness.machine.state)")
            return
        }
        #expect(accepted.displayName == "Zoë 42")
        harness.clock.advance(by: .seconds(3600))
        #expect(harness.machine.deadlineExpired() == [])
    }

    @Test("A wrong password closes with wrongPassword", arguments: ["", "Correct horse", "correct horse ", "x"])
    func wrongPassword(_ password: String) throws {
        var harness = try Harness()
        try harness.advance(to: .awaitingPassword)
        // The rejection waits for the delay; meanwhile the connection reads nothing.
        #expect(
            try harness.machine.receive(.password(password)) == [.setDeadline(harness.deadline(after: .seconds(1)))])
        #expect(harness.phase == .rejectingPassword)
        #expect(!harness.machine.readsFrames)
        harness.clock.advance(by: .milliseconds(999))
        #expect(harness.machine.deadlineExpired() == [])
        harness.clock.advance(by: .milliseconds(1))
        let actions = harness.machine.deadlineExpired()
        #expect(actions.count == 1)
        guard case .close(let reason) = actions.first else { throw UnexpectedActions(actions: actions) }
        #expect(reason.code == .wrongPassword)
        #expect(harness.failure?.code == .wrongPassword)
    }

    @Test("With no delay a wrong password closes at once")
    func wrongPasswordWithoutDelay() throws {
        var harness = try Harness(wrongPasswordDelay: .zero)
        try harness.advance(to: .awaitingPassword)
        #expect(
            try harness.machine.receive(.password("nope")) == [.close(CloseReason(.wrongPassword, "wrong password"))])
        #expect(harness.phase == .failed)
    }

    @Test("While a wrong password is being rejected every input is ignored", arguments: Input.allCases)
    func rejectingIgnoresEverything(input: Input) throws {
        var harness = try Harness()
        try harness.advance(to: .awaitingPassword)
        _ = try harness.machine.receive(.password("wrong"))
        if input == .keyExchange {
            #expect(throws: ProtocolError.self) { try harness.feed(input) }
            return
        }
        #expect(try harness.feed(input) == [])
        #expect(harness.phase == .rejectingPassword, "nothing a client sends ends the delay early")
        harness.clock.advance(by: .seconds(1))
        #expect(harness.machine.deadlineExpired() == [.close(CloseReason(.wrongPassword, "wrong password"))])
    }

    @Test(
        "The step deadline wins over the wrong-password delay: code 5 at the deadline, never later",
        arguments: [Duration.milliseconds(500), .seconds(1)])
    func deadlineBeatsDelay(passwordAfter: Duration) throws {
        var harness = try Harness()
        try harness.advance(to: .awaitingPassword)
        let stepDeadline = try #require(harness.machine.currentDeadline)
        // The password arrives less than the delay before its step's deadline.
        harness.clock.advance(by: .seconds(10) - passwordAfter)
        #expect(try harness.machine.receive(.password("wrong")) == [.setDeadline(stepDeadline)])
        #expect(harness.machine.currentDeadline == stepDeadline)
        harness.clock.advance(by: passwordAfter - .milliseconds(1))
        #expect(harness.machine.deadlineExpired() == [])
        harness.clock.advance(by: .milliseconds(1))
        let actions = harness.machine.deadlineExpired()
        guard case .close(let reason) = actions.first, actions.count == 1 else {
            throw UnexpectedActions(actions: actions)
        }
        #expect(reason.code == .handshakeTimeout)
        #expect(reason.message.contains("awaiting password"))
    }

    @Test("The total handshake deadline also ends the wrong-password delay")
    func totalDeadlineBeatsDelay() throws {
        var harness = try Harness(totalTimeout: .milliseconds(1500))
        try harness.advance(to: .awaitingPassword)
        harness.clock.advance(by: .milliseconds(1000))
        _ = try harness.machine.receive(.password("wrong"))
        harness.clock.advance(by: .milliseconds(500))
        let actions = harness.machine.deadlineExpired()
        guard case .close(let reason) = actions.first else { throw UnexpectedActions(actions: actions) }
        #expect(reason.code == .handshakeTimeout)
        #expect(reason.message.contains("handshake not completed within"))
    }

    @Test(
        "An invalid display name is rejected with its reason, and the machine waits for another",
        arguments: ["", " Ada", "a\u{202E}b", String(repeating: "n", count: 33)])
    func invalidName(_ name: String) throws {
        var harness = try Harness()
        try harness.advance(to: .awaitingName)
        let actions = try harness.machine.receive(.name(name))
        guard case .send(.nameRejected(let rejection)) = actions.first else {
            throw UnexpectedActions(actions: actions)
        }
        let expected = try #require(throws: ProtocolError.self) { try DisplayName.validate(name) }
        #expect(rejection == NameRejection(reason: expected.closeReason.message, attemptsLeft: 2))
        #expect(actions.count == 2 && harness.phase == .awaitingName)
    }

    @Test("An empty key exchange is refused unless plaintext is allowed")
    func plaintextRequest() throws {
        var strict = try Harness()
        _ = strict.machine.start()
        let actions = try strict.machine.receiveKeyExchange([])
        #expect(actions.count == 1)
        guard case .close(let reason) = actions.first else { throw UnexpectedActions(actions: actions) }
        #expect(reason.code == .plaintextNotAllowed)
        #expect(strict.failure?.code == .plaintextNotAllowed)

        var lenient = try Harness(allowsPlaintext: true)
        _ = lenient.machine.start()
        #expect(
            try lenient.machine.receiveKeyExchange([])
                == [.usePlaintext, .send(.passwordPrompt), .setDeadline(lenient.deadline(after: .seconds(10)))])
        #expect(lenient.phase == .awaitingPassword)
    }

    @Test("A garbage key exchange still advances, with keys no client has", arguments: [256, 1, 255, 257, 512])
    func implicitRejection(byteCount: Int) throws {
        let client = try Harness().clientKeyExchange()
        let garbage = try SecureRandom.bytes(count: byteCount)
        var installed: [SessionKeys] = []
        for _ in 0..<2 {
            var harness = try Harness()
            _ = harness.machine.start()
            let actions = try harness.machine.receiveKeyExchange(garbage)
            #expect(harness.phase == .awaitingPassword)
            #expect(actions.count == 3)
            #expect(
                Array(actions.dropFirst()) == [
                    .send(.passwordPrompt), .setDeadline(harness.deadline(after: .seconds(10))),
                ])
            guard case .installKeys(let keys) = actions.first else { throw UnexpectedActions(actions: actions) }
            let zeroSecret = try SessionKeys.derive(
                secret: Array(repeating: 0, count: 32), serverRandom: harness.serverRandom, helloPayload: harness.hello)
            #expect(keys != zeroSecret)
            #expect(keys != client.keys)
            installed.append(keys)
        }
        #expect(installed[0] != installed[1], "the substitute secret is random")
    }

    @Test("A tampered or wrong-length secret is rejected implicitly")
    func implicitRejectionOfNearMisses() throws {
        var harness = try Harness()
        _ = harness.machine.start()
        var client = try harness.clientKeyExchange()
        client.payload[17] ^= 0x01
        let actions = try harness.machine.receiveKeyExchange(client.payload)
        #expect(actions.first != .installKeys(client.keys))
        #expect(harness.phase == .awaitingPassword)

        // A well-formed ciphertext of a 16-byte secret is as wrong as garbage (an attack, so written
        // by hand: ClientHandshake only makes 32-byte secrets).
        var short = try Harness()
        _ = short.machine.start()
        let secret = try SecureRandom.bytes(count: 16)
        let payload = try Fixtures.privateKey.publicKey.encryptOAEP(secret)
        let shortActions = try short.machine.receiveKeyExchange(payload)
        guard case .installKeys = shortActions.first else { throw UnexpectedActions(actions: shortActions) }
        #expect(short.phase == .awaitingPassword)
    }

    @Test(
        "The timeout reason is the one the machine closes with at the deadline",
        arguments: [Phase.awaitingKey, .awaitingPassword, .awaitingName])
    func timeoutReasonMatchesDeadline(step: Phase) throws {
        var harness = try Harness()
        try harness.advance(to: step)
        let deadline = try #require(harness.machine.currentDeadline)
        let promised = try #require(harness.machine.timeoutReason)
        #expect(promised.message.contains(harness.machine.stepName))
        harness.clock.advance(by: harness.clock.now.duration(to: deadline))
        #expect(harness.machine.deadlineExpired() == [.close(promised)])
        #expect(harness.machine.timeoutReason == nil, "a failed machine has no deadline left")
        #expect(harness.machine.currentDeadline == nil)
    }

    @Test("Once the total deadline is the nearer one, the timeout reason names the total")
    func timeoutReasonNamesTotal() throws {
        var harness = try Harness(totalTimeout: .seconds(25))
        _ = harness.machine.start()
        harness.clock.advance(by: .seconds(9))
        _ = try harness.machine.receiveKeyExchange(try harness.clientKeyExchange().payload)
        #expect(harness.machine.timeoutReason?.message.contains("step") == true, "19 s is nearer than 25 s")
        harness.clock.advance(by: .seconds(9))
        _ = try harness.machine.receive(.password(Harness.password))
        // The name step would end at 28 s; the whole handshake ends at 25 s.
        let reason = try #require(harness.machine.timeoutReason)
        #expect(reason.code == .handshakeTimeout)
        #expect(reason.message.contains("handshake not completed within"))
        harness.clock.advance(by: .seconds(7))
        #expect(harness.machine.deadlineExpired() == [.close(reason)])
    }

    @Test("The first deadline fires at exactly the step timeout, not before")
    func firstDeadline() throws {
        var harness = try Harness()
        _ = harness.machine.start()
        #expect(harness.machine.deadlineExpired() == [])
        harness.clock.advance(by: .milliseconds(9999))
        #expect(harness.machine.deadlineExpired() == [])
        #expect(harness.phase == .awaitingKey)
        harness.clock.advance(by: .milliseconds(1))
        let actions = harness.machine.deadlineExpired()
        #expect(actions.count == 1)
        guard case .close(let reason) = actions.first else { throw UnexpectedActions(actions: actions) }
        #expect(reason.code == .handshakeTimeout)
        #expect(reason.message.contains("awaiting key"))
        #expect(harness.failure?.code == .handshakeTimeout)
        #expect(harness.machine.deadlineExpired() == [], "a failed machine does not close twice")
    }

    @Test(
        "Deadlines are absolute per step, fixed when the step begins",
        arguments: [Phase.awaitingPassword, .awaitingName])
    func perStepDeadline(step: Phase) throws {
        var harness = try Harness()
        _ = harness.machine.start()
        let path: [Input] = step == .awaitingPassword ? [.keyExchange] : [.keyExchange, .password]
        for input in path {
            harness.clock.advance(by: .seconds(9))
            let actions = try harness.feed(input)
            #expect(actions.last == .setDeadline(harness.deadline(after: .seconds(10))))
        }
        #expect(harness.phase == step)
        // The previous step's deadline is now past; its stale timer must not close the connection.
        harness.clock.advance(by: .seconds(9))
        #expect(harness.machine.deadlineExpired() == [])
        #expect(harness.phase == step)
        harness.clock.advance(by: .seconds(1))
        let actions = harness.machine.deadlineExpired()
        guard case .close(let reason) = actions.first else { throw UnexpectedActions(actions: actions) }
        #expect(reason.code == .handshakeTimeout)
        #expect(reason.message.contains(step == .awaitingPassword ? "awaiting password" : "awaiting name"))
        #expect(harness.phase == .failed)
    }
}

struct UnexpectedActions: Error, CustomStringConvertible {
    var actions: [Handshake.Action]
    var description: String { "unexpected actions: \(actions)" }
}

@Suite("Late handshake messages")
struct LateHandshakeMessageTests {
    @Test("a message arriving after its step's deadline closes with a timeout even before the timer fires")
    func lateMessage() throws {
        let clock = TestClock()
        var handshake = ServerHandshake(
            configuration: HandshakeConfiguration(
                identityKeySPKI: Fixtures.identityKey.publicKey.spkiDER, password: "pw", serverName: "S", services: [],
                stepTimeout: .seconds(10)),
            transportKey: Fixtures.transportOffer, connectionID: 1, serverRandom: [UInt8](repeating: 1, count: 32),
            clock: clock)
        _ = handshake.start()
        _ = try handshake.receiveKeyExchange(try Harness().clientKeyExchange().payload)
        clock.advance(by: .seconds(11))
        let actions = try handshake.receive(.password("pw"))
        guard case .close(let reason)? = actions.last else {
            Issue.record("expected a close, got \(actions)")
            return
        }
        #expect(reason.code == .handshakeTimeout)
        guard case .failed = handshake.state else {
            Issue.record("expected the failed state")
            return
        }
    }
}
