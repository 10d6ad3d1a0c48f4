import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Testing

/// The client machine's phases, for comparing states.
enum ClientPhase: String, CaseIterable, Sendable {
    case awaitingHello, awaitingTrust, awaitingPasswordPrompt, awaitingNamePrompt, awaitingAcceptance, awaitingNewName
    case accepted, failed
}

/// What a server can send during the handshake, opened.
enum ServerInput: String, CaseIterable, Sendable {
    case passwordPrompt, namePrompt, accepted, response, event, serverName, ping, pong, serverStopping, keyUpdate
    case nameRejected
}

/// A client machine under test, with the server's side played by a real ``ServerHandshake``.
struct ClientHarness {
    static let acceptance = Acceptance(connectionID: 42, serverName: "Lab", services: ["echo", "chat"])
    static var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    var machine = ClientHandshake(credentials: .init(password: Harness.password, name: "Ada"))
    let secret: [UInt8] = Array(repeating: 0x42, count: 32)

    var phase: ClientPhase {
        switch machine.state {
        case .awaitingHello: .awaitingHello
        case .awaitingTrust: .awaitingTrust
        case .awaitingPasswordPrompt: .awaitingPasswordPrompt
        case .awaitingNamePrompt: .awaitingNamePrompt
        case .awaitingAcceptance: .awaitingAcceptance
        case .awaitingNewName: .awaitingNewName
        case .accepted: .accepted
        case .failed: .failed
        }
    }

    /// A hello from the test server.
    static let hello: [UInt8] = ServerHello(
        identityKeySPKI: Fixtures.identityKey.publicKey.spkiDER, transportKey: Fixtures.transportOffer.certificate,
        serverRandom: Array(repeating: 7, count: 32)
    ).encoded()

    /// Drives the machine along the happy path until it reaches `target`.
    mutating func advance(to target: ClientPhase) throws {
        let path: [(ClientPhase, (inout ClientHandshake) throws -> [ClientHandshake.Action])] = [
            (.awaitingHello, { try $0.receiveHello(Self.hello, now: Self.now) }),
            (.awaitingTrust, { [secret] in try $0.trustDecided(mismatch: nil, secret: secret) }),
            (.awaitingPasswordPrompt, { try $0.receive(.passwordPrompt) }),
            (.awaitingNamePrompt, { try $0.receive(.namePrompt) }),
            (.awaitingAcceptance, { try $0.receive(.accepted(Self.acceptance)) }),
        ]
        for (phase, step) in path where self.phase != target {
            #expect(self.phase == phase)
            _ = try step(&machine)
        }
        #expect(self.phase == target)
    }

    static func message(_ input: ServerInput) throws -> ServerMessage {
        switch input {
        case .passwordPrompt: .passwordPrompt
        case .namePrompt: .namePrompt
        case .accepted: .accepted(acceptance)
        case .response: .response(Response(requestID: 1, status: .ok))
        case .event: .event(ServiceEvent(service: "chat", body: [1]))
        case .serverName: .serverName("Lab")
        case .ping: .ping(1)
        case .pong: .pong(1)
        case .serverStopping: .serverStopping(graceMilliseconds: 10)
        case .keyUpdate: .keyUpdate(try KeyUpdate.random(requestsUpdate: false))
        case .nameRejected: .nameRejected(NameRejection(reason: "display name is empty", attemptsLeft: 2))
        }
    }
}

@Suite("ClientHandshake")
struct ClientHandshakeTests {
    static let messageSteps: [ClientPhase] = [.awaitingPasswordPrompt, .awaitingNamePrompt, .awaitingAcceptance]
    static let advancing: [ClientPhase: (ServerInput, ClientPhase)] = [
        .awaitingPasswordPrompt: (.passwordPrompt, .awaitingNamePrompt),
        .awaitingNamePrompt: (.namePrompt, .awaitingAcceptance),
        .awaitingAcceptance: (.accepted, .accepted),
    ]
    /// A second message some steps take.
    static let alternatives: [ClientPhase: (ServerInput, ClientPhase)] = [
        .awaitingAcceptance: (.nameRejected, .awaitingNewName)
    ]

    @Test(
        "Only the expected server message advances; every other one is a protocol violation",
        arguments: messageSteps, ServerInput.allCases)
    func transitionTable(step: ClientPhase, input: ServerInput) throws {
        var harness = ClientHarness()
        try harness.advance(to: step)
        let message = try ClientHarness.message(input)
        let allowed = [Self.advancing[step], Self.alternatives[step]].compactMap { $0 }
        if let (_, next) = allowed.first(where: { $0.0 == input }) {
            #expect(!(try harness.machine.receive(message)).isEmpty)
            #expect(harness.phase == next)
        } else {
            let failure = try #require(throws: ClientHandshake.Failure.self) { try harness.machine.receive(message) }
            #expect(failure.kind == .protocolViolation)
            #expect(harness.phase == .failed)
        }
    }

    @Test("The validity window allows the skew either way and saturates instead of wrapping")
    func validityWindowSaturates() throws {
        let certificate = try TransportKeyCertificate.issue(
            for: Fixtures.privateKey.publicKey, by: Fixtures.identityKey, notBefore: 1_000, notAfter: 2_000)
        try certificate.checkValidity(now: 1_500, skew: 0)
        try certificate.checkValidity(now: 900, skew: 100)
        try certificate.checkValidity(now: 2_100, skew: 100)
        #expect(throws: ProtocolError.self) { try certificate.checkValidity(now: 2_101, skew: 100) }
        #expect(throws: ProtocolError.self) { try certificate.checkValidity(now: 899, skew: 100) }
        // A skew that would overflow (a client that turns the check off) accepts any ordered window.
        try certificate.checkValidity(now: .max, skew: .max)
        try certificate.checkValidity(now: 0, skew: .max)
        let late = try TransportKeyCertificate.issue(
            for: Fixtures.privateKey.publicKey, by: Fixtures.identityKey, notBefore: .max - 1, notAfter: .max)
        try late.checkValidity(now: .max - 10, skew: 20)
    }

    @Test("The happy path produces exactly the documented actions")
    func happyPath() throws {
        var machine = ClientHandshake(credentials: .init(password: "pw", name: "Zoë"))
        let fingerprint = Fixtures.identityKey.publicKey.fingerprint
        #expect(
            try machine.receiveHello(ClientHarness.hello, now: ClientHarness.now) == [
                .checkTrust(fingerprint: fingerprint)
            ])
        let secret = [UInt8](repeating: 1, count: 32)
        let actions = try machine.trustDecided(mismatch: nil, secret: secret)
        guard actions.count == 2, case .sendPlaintext(let exchange) = actions[0],
            case .installKeys(let keys) = actions[1]
        else { throw UnexpectedClientActions(actions: actions) }
        // The exchange carries the secret to the transport key; the keys are the documented derivation.
        #expect(try Fixtures.privateKey.decryptOAEP(exchange) == secret)
        #expect(
            keys
                == (try SessionKeys.derive(
                    secret: secret, serverRandom: Array(repeating: 7, count: 32), helloPayload: ClientHarness.hello)))
        #expect(try machine.receive(.passwordPrompt) == [.send(.password("pw"))])
        #expect(try machine.receive(.namePrompt) == [.send(.name("Zoë"))])
        #expect(try machine.receive(.accepted(ClientHarness.acceptance)) == [.accepted(ClientHarness.acceptance)])
        #expect(machine.isAccepted)
    }

    @Test("A plaintext client sends an empty key exchange and installs no keys")
    func plaintext() throws {
        var machine = ClientHandshake(credentials: .init(password: "pw", name: "Ada", plaintext: true))
        _ = try machine.receiveHello(ClientHarness.hello, now: ClientHarness.now)
        #expect(try machine.trustDecided(mismatch: nil, secret: []) == [.sendPlaintext([])])
    }

    @Test("An untrusted identity key fails before anything is sent")
    func untrusted() throws {
        var machine = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        _ = try machine.receiveHello(ClientHarness.hello, now: ClientHarness.now)
        let failure = try #require(throws: ClientHandshake.Failure.self) {
            try machine.trustDecided(mismatch: "not the pinned key", secret: Array(repeating: 0, count: 32))
        }
        #expect(failure.kind == .untrustedKey)
        #expect(failure.step == .hello)
    }

    @Test("A certificate out of its validity window, or not signed by the identity, fails at the hello")
    func badCertificate() throws {
        var late = ClientHandshake(credentials: .init(password: "pw", name: "Ada", clockSkewMilliseconds: 0))
        let failure = try #require(throws: ClientHandshake.Failure.self) {
            try late.receiveHello(ClientHarness.hello, now: ClientHarness.now + 2 * 86_400_000)
        }
        #expect(failure.kind == .badCertificate)

        // The transport key certified by another identity than the one in the hello.
        let forged = Fixtures.forgedHello
        var machine = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        #expect(
            (try #require(throws: ClientHandshake.Failure.self) {
                try machine.receiveHello(forged, now: ClientHarness.now)
            })
            .kind == .badCertificate)
    }

    @Test("A transport key verified on an earlier hello is reused only for the same identity and certificate")
    func verifiedTransportKeyReuse() throws {
        var first = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        _ = try first.receiveHello(ClientHarness.hello, now: ClientHarness.now)
        guard case .awaitingTrust(let awaiting) = first.state else { throw UnexpectedClientActions(actions: []) }
        let known = awaiting.transportKey
        #expect(known.certificate == Fixtures.transportOffer.certificate)
        #expect(known.identityKeySPKI == Fixtures.identityKey.publicKey.spkiDER)
        var offered: [TransportKeyCertificate] = []
        let lookup: (TransportKeyCertificate) -> ClientHandshake.VerifiedTransportKey? = {
            offered.append($0)
            return known
        }

        // The same hello again: the kept key is used, and the exchange still reaches the transport key.
        var second = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        #expect(
            try second.receiveHello(ClientHarness.hello, now: ClientHarness.now, verified: lookup) == [
                .checkTrust(fingerprint: Fixtures.identityKey.publicKey.fingerprint)
            ])
        #expect(offered == [Fixtures.transportOffer.certificate])
        let secret = [UInt8](repeating: 3, count: 32)
        let actions = try second.trustDecided(mismatch: nil, secret: secret)
        guard case .sendPlaintext(let exchange) = actions.first else { throw UnexpectedClientActions(actions: actions) }
        #expect(try Fixtures.privateKey.decryptOAEP(exchange) == secret)

        // The validity window is still checked against a kept key.
        var late = ClientHandshake(credentials: .init(password: "pw", name: "Ada", clockSkewMilliseconds: 0))
        #expect(
            (try #require(throws: ClientHandshake.Failure.self) {
                try late.receiveHello(ClientHarness.hello, now: ClientHarness.now + 2 * 86_400_000, verified: lookup)
            })
            .kind == .badCertificate)

        // Another certificate from the same identity: the kept key does not stand in for it.
        let now = ClientHarness.now
        let rotated = ServerHello(
            identityKeySPKI: Fixtures.identityKey.publicKey.spkiDER,
            transportKey: try TransportKeyCertificate.issue(
                for: Fixtures.identityKey.publicKey, by: Fixtures.identityKey, notBefore: now - 60_000,
                notAfter: now + 60_000),
            serverRandom: Array(repeating: 7, count: 32)
        ).encoded()
        var afterRotation = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        _ = try afterRotation.receiveHello(rotated, now: now, verified: lookup)
        let rotatedActions = try afterRotation.trustDecided(mismatch: nil, secret: secret)
        guard case .sendPlaintext(let rotatedExchange) = rotatedActions.first else {
            throw UnexpectedClientActions(actions: rotatedActions)
        }
        #expect(try Fixtures.identityKey.decryptOAEP(rotatedExchange) == secret)

        // The same certificate under another identity key (not its signer): checked, and refused.
        let forged = Fixtures.forgedHello
        var impostor = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        #expect(
            (try #require(throws: ClientHandshake.Failure.self) {
                try impostor.receiveHello(forged, now: now, verified: lookup)
            })
            .kind == .badCertificate)
    }

    @Test("A refusal instead of the hello, and a closing at each step, report the server's reason")
    func closedByServer() throws {
        let refusal = CloseReason(.refused, "busy")
        var refused = ClientHandshake(credentials: .init(password: "pw", name: "Ada"))
        let failure = try #require(throws: ClientHandshake.Failure.self) {
            try refused.receiveHello(ServerMessage.closing(refusal).encoded(), now: ClientHarness.now)
        }
        #expect(failure.kind == .closedByServer(refusal))
        for step in ClientHandshakeTests.messageSteps {
            var harness = ClientHarness()
            try harness.advance(to: step)
            let reason = CloseReason(.wrongPassword, "wrong password")
            let failure = try #require(throws: ClientHandshake.Failure.self) {
                try harness.machine.receive(.closing(reason))
            }
            #expect(failure.kind == .closedByServer(reason))
        }
    }

    @Test("A frame that does not open: a plaintext closing before the prompt is the server's reason")
    func unopenable() throws {
        var early = ClientHarness()
        try early.advance(to: .awaitingPasswordPrompt)
        let reason = CloseReason(.plaintextNotAllowed, "encrypt")
        let failure = try #require(throws: ClientHandshake.Failure.self) {
            try early.machine.receiveUnopenable(ServerMessage.closing(reason).encoded())
        }
        #expect(failure.kind == .closedByServer(reason))

        var later = ClientHarness()
        try later.advance(to: .awaitingNamePrompt)
        let garbage = try #require(throws: ClientHandshake.Failure.self) {
            try later.machine.receiveUnopenable(ServerMessage.closing(reason).encoded())
        }
        #expect(garbage.kind == .decryptionFailed)
    }

    @Test("The two machines against each other, with no I/O, reach acceptance on both sides")
    func machinesAgainstEachOther() throws {
        var server = try Harness()
        var client = ClientHandshake(credentials: .init(password: Harness.password, name: "Ada"))
        var clientSealer: RecordSealer?
        var clientOpener: RecordOpener?
        var serverSealer: RecordSealer?
        var serverOpener: RecordOpener?
        var toServer: [[UInt8]] = []
        var toClient: [[UInt8]] = []
        var serverAccepted: String?
        var clientAccepted: Acceptance?

        func runServer(_ actions: [Handshake.Action]) throws {
            for action in actions {
                switch action {
                case .sendPlaintext(let payload): toClient.append(payload)
                case .installKeys(let keys):
                    serverSealer = try RecordSealer(key: keys.serverToClientKey, iv: keys.serverToClientIV)
                    serverOpener = try RecordOpener(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                case .send(let message): toClient.append(try serverSealer!.seal(message.encoded()))
                case .accept(let name): serverAccepted = name
                case .usePlaintext, .setDeadline: break
                case .close(let reason): throw ProtocolError(reason)
                }
            }
        }
        func runClient(_ actions: [ClientHandshake.Action]) throws {
            for action in actions {
                switch action {
                case .checkTrust(let fingerprint):
                    let mismatch = fingerprint == Fixtures.identityKey.publicKey.fingerprint ? nil : "not pinned"
                    try runClient(
                        try client.trustDecided(mismatch: mismatch, secret: try SecureRandom.bytes(count: 32)))
                case .sendPlaintext(let payload): toServer.append(payload)
                case .installKeys(let keys):
                    clientSealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                    clientOpener = try RecordOpener(key: keys.serverToClientKey, iv: keys.serverToClientIV)
                case .send(let message): toServer.append(try clientSealer!.seal(message.encoded()))
                case .accepted(let acceptance): clientAccepted = acceptance
                case .nameRejected(let rejection): Issue.record("a valid name was rejected: \(rejection)")
                }
            }
        }

        try runServer(server.machine.start())
        var clientSawHello = false
        while !toClient.isEmpty || !toServer.isEmpty {
            for frame in toClient {
                if !clientSawHello {
                    clientSawHello = true
                    try runClient(try client.receiveHello(frame, now: ClientHarness.now))
                } else {
                    try runClient(try client.receive(try ServerMessage(decoding: try clientOpener!.open(frame))))
                }
            }
            toClient = []
            for frame in toServer {
                if server.machine.expectsKeyExchange {
                    try runServer(try server.machine.receiveKeyExchange(frame))
                } else {
                    try runServer(
                        try server.machine.receive(try ClientMessage(decoding: try serverOpener!.open(frame))))
                }
            }
            toServer = []
        }
        #expect(serverAccepted == "Ada")
        #expect(clientAccepted?.connectionID == 42)
        #expect(client.isAccepted)
        #expect(server.phase == .accepted)
    }

    @Test("Against a server that rejects the password, the client fails with the server's code 6")
    func machinesWrongPassword() throws {
        var server = try Harness(wrongPasswordDelay: .zero)
        var client = ClientHandshake(credentials: .init(password: "not it", name: "Ada"))
        _ = server.machine.start()
        _ = try client.receiveHello(server.hello, now: ClientHarness.now)
        let actions = try client.trustDecided(mismatch: nil, secret: try SecureRandom.bytes(count: 32))
        guard case .sendPlaintext(let exchange) = actions[0], case .installKeys(let keys) = actions[1] else {
            throw UnexpectedClientActions(actions: actions)
        }
        let serverActions = try server.machine.receiveKeyExchange(exchange)
        guard case .installKeys(let serverKeys) = serverActions[0] else {
            throw UnexpectedActions(actions: serverActions)
        }
        #expect(serverKeys == keys)
        #expect(try client.receive(.passwordPrompt) == [.send(.password("not it"))])
        let closing = try server.machine.receive(.password("not it"))
        guard case .close(let reason) = closing.first else { throw UnexpectedActions(actions: closing) }
        let failure = try #require(throws: ClientHandshake.Failure.self) { try client.receive(.closing(reason)) }
        #expect(failure.kind == .closedByServer(CloseReason(.wrongPassword, "wrong password")))
        #expect(failure.step == .password)
    }
}

struct UnexpectedClientActions: Error, CustomStringConvertible {
    var actions: [ClientHandshake.Action]
    var description: String { "unexpected actions: \(actions)" }
}
