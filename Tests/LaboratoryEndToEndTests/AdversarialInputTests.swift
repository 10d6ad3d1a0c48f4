import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

extension Adversarial {
    /// Garbage, truncated, oversized, empty, tampered, replayed, reordered, reflected and
    /// misordered frames in every state, each from its own address, all at once, against the
    /// `laboratory-server` process while honest clients keep calling Echo.
    @Suite("Malformed and tampered input", .timeLimit(.minutes(1)))
    struct InputTests {
        static let stepDeadline = Duration.seconds(3)
        static let idleTimeout = Duration.seconds(3)

        @Test("every malformed, tampered or misordered frame ends its connection alone, with the right reason")
        func malformedInput() async throws {
            let target = try await TargetProcess.start([
                "--handshake-step-timeout", "3", "--handshake-timeout", "6", "--keepalive-interval", "1",
                "--idle-timeout", "3", "--max-frame-size", "65536",
            ])
            let honest = try await HonestTraffic.start { try await target.connect(name: $0) }
            #expect(await honest.waitForProgress())
            let before = try target.memory()

            let attacks = InputAttack.all
            let port = target.port
            let results = await withTaskGroup(of: (Int, InputAttack.Result).self) { group in
                for (index, attack) in attacks.enumerated() {
                    group.addTask {
                        // Each from a network of its own: they are independent clients, more of
                        // them at once than admission allows unfinished from one /24.
                        (index, await attack.run(port: port, from: AttackSource.network(block: 12, index)))
                    }
                }
                var results = [InputAttack.Result?](repeating: nil, count: attacks.count)
                for await (index, result) in group { results[index] = result }
                return results.compactMap { $0 }
            }

            // A readable reference: how the server says "decryption failed" for the client's first
            // sealed frame. Implicit rejection must look exactly like it, only sealed away.
            let reference = try #require(
                zip(attacks, results).first { $0.0.name == "after the key exchange: a zero-length frame" }?.1.close)
            for (attack, result) in zip(attacks, results) {
                let label = Comment(rawValue: "\(attack.name): \(result)")
                #expect(result.failure == nil, label)
                #expect(result.close.closedByServer, label)
                switch attack.expected {
                case .reason(let code):
                    #expect(result.close.reason?.code == code, label)
                case .sealedAway:
                    // Prompt (read by the attack) and closing both sealed under keys the client
                    // cannot have: the same frames, of the same sizes, as a wrong secret gets.
                    #expect(result.close.reason == nil, label)
                    #expect(result.close.frameSizes == reference.frameSizes, label)
                }
                switch attack.timing {
                case .immediate:
                    #expect(result.elapsed < Sanitizer.slack(.seconds(2)), label)
                case .stepDeadline:
                    #expect(
                        result.elapsed >= Self.stepDeadline / 2
                            && result.elapsed < Self.stepDeadline + Sanitizer.slack(.seconds(2)),
                        label)
                case .idleTimeout:
                    #expect(
                        result.elapsed >= Self.idleTimeout / 2
                            && result.elapsed < Self.idleTimeout + Sanitizer.slack(.seconds(2)), label
                    )
                }
            }

            let after = try target.memory()
            await target.finish(
                "malformed input: \(attacks.count) attacks",
                honest: honest, memoryBefore: before, after: after)
        }
    }
}

/// One attack on one connection: what it sends and how the server must end the connection.
struct InputAttack: Sendable {
    enum Expected: Sendable {
        /// The server closes with this reason, which the client can read.
        case reason(CloseReason.Code)
        /// Implicit rejection: the server carried on with keys the client does not have, so its
        /// prompt and its reason are sealed away from the client.
        case sealedAway
    }

    /// When the server must close, counted from the end of the attack.
    enum Timing: Sendable {
        case immediate, stepDeadline, idleTimeout
    }

    struct Result: Sendable, CustomStringConvertible {
        var close: ServerClose
        /// From the end of the attack to the server's close.
        var elapsed: Duration
        var failure: String?

        var description: String {
            "closed by server: \(close.closedByServer), reason: \(close.reason.map { "\($0)" } ?? "none"), "
                + "frames \(close.frameSizes), after \(elapsed)\(failure.map { ", failed: \($0)" } ?? "")"
        }
    }

    let name: String
    let expected: Expected
    let timing: Timing
    let attack: @Sendable (inout RawClient, _ port: Int, _ source: String) async throws -> Void

    func run(port: Int, from source: String) async -> Result {
        let failed = { (why: String) in
            Result(close: ServerClose(reason: nil, closedByServer: false, frameSizes: []), elapsed: .zero, failure: why)
        }
        var raw: RawClient
        do {
            raw = try await RawClient.connect(port: port, from: source)
        } catch {
            return failed("connect: \(error)")
        }
        do {
            try await attack(&raw, port, source)
        } catch {
            await raw.close()
            return failed("\(error)")
        }
        let start = ContinuousClock.now
        let close = await raw.waitForClose(within: .seconds(10))
        return Result(close: close, elapsed: .now - start, failure: nil)
    }
}

extension InputAttack {
    static let password = TargetProcess.password

    /// Every attack, by state.
    static var all: [InputAttack] {
        var attacks: [InputAttack] = []
        func addUsingSource(
            _ name: String, _ expected: Expected,
            _ attack: @escaping @Sendable (inout RawClient, Int, String) async throws -> Void
        ) {
            attacks.append(InputAttack(name: name, expected: expected, timing: .immediate, attack: attack))
        }
        func add(
            _ name: String, _ expected: Expected, _ timing: Timing = .immediate,
            _ attack: @escaping @Sendable (inout RawClient) async throws -> Void
        ) {
            attacks.append(
                InputAttack(name: name, expected: expected, timing: timing) { raw, _, _ in try await attack(&raw) })
        }

        // Before the key exchange: the server expects the encrypted secret.
        add("before the key exchange: unframed garbage", .reason(.frameTooLarge)) { raw in
            _ = try await raw.readHello()
            var garbage = try SecureRandom.bytes(count: 8192)
            garbage[0] |= 0x01  // a length prefix of 16 MiB or more
            await raw.push(garbage)
        }
        add("before the key exchange: a length prefix of FF FF FF FF", .reason(.frameTooLarge)) { raw in
            _ = try await raw.readHello()
            await raw.push([0xFF, 0xFF, 0xFF, 0xFF])
        }
        add("before the key exchange: a prefix one byte over the maximum", .reason(.frameTooLarge)) { raw in
            _ = try await raw.readHello()
            await raw.push(Frame.header(payloadLength: 65537))
        }
        add("before the key exchange: a zero-length frame", .reason(.plaintextNotAllowed)) { raw in
            _ = try await raw.readHello()
            await raw.push(Frame.encode([]))
        }
        add("before the key exchange: a truncated frame, then silence", .reason(.handshakeTimeout), .stepDeadline) {
            raw in
            _ = try await raw.readHello()
            await raw.push(Frame.header(payloadLength: 256) + (try SecureRandom.bytes(count: 100)))
        }
        add("before the key exchange: framed garbage of the right size", .sealedAway) { raw in
            _ = try await raw.readHello()
            try await raw.sendFrame(try SecureRandom.bytes(count: 256))
            try await raw.expectUnreadablePrompt()
        }
        add("before the key exchange: framed garbage of another size", .sealedAway) { raw in
            _ = try await raw.readHello()
            try await raw.sendFrame(try SecureRandom.bytes(count: 100))
            try await raw.expectUnreadablePrompt()
        }
        add("before the key exchange: a bit flipped in the encrypted secret", .sealedAway) { raw in
            var exchange = try raw.prepareKeyExchange(hello: try await raw.readHello())
            exchange[100] ^= 0x10
            try await raw.sendFrame(exchange)
            try await raw.expectUnreadablePrompt()
        }
        add("before the key exchange: the hello reflected", .sealedAway) { raw in
            try await raw.sendFrame(try await raw.readHello())
            try await raw.expectUnreadablePrompt()
        }
        add("before the key exchange: a plaintext password message", .sealedAway) { raw in
            _ = try await raw.readHello()
            try await raw.sendFrame(ClientMessage.password(password).encoded())
            try await raw.expectUnreadablePrompt()
        }
        addUsingSource("a recorded key exchange and password replayed on a new connection", .sealedAway) {
            raw, port, source in
            var recorded = try await RawClient.connect(port: port, from: source)
            let exchange = try recorded.prepareKeyExchange(hello: try await recorded.readHello())
            try await recorded.sendFrame(exchange)
            let sealedPassword = try recorded.sealer!.seal(ClientMessage.password(password).encoded())
            await recorded.close()
            _ = try await raw.readHello()
            try await raw.sendFrame(exchange)
            guard let prompt = await raw.nextFrame(), prompt.count == 17 else { throw RawClientError("no prompt") }
            // The replay is answered under new keys (new server random); the recorded password
            // does not open for them.
            await raw.push(Frame.encode(sealedPassword))
        }

        // After the key exchange: the server expects the password.
        add("after the key exchange: a length prefix of FF FF FF FF", .reason(.frameTooLarge)) { raw in
            try await raw.toPassword()
            await raw.push([0xFF, 0xFF, 0xFF, 0xFF])
        }
        add("after the key exchange: a zero-length frame", .reason(.decryptionFailed)) { raw in
            try await raw.toPassword()
            await raw.push(Frame.encode([]))
        }
        for position in [0, 10, 19] {
            add("after the key exchange: password frame with byte \(position) flipped", .reason(.decryptionFailed)) {
                raw in
                try await raw.toPassword()
                var sealed = try raw.sealer!.seal(ClientMessage.password(password).encoded())
                sealed[position % sealed.count] ^= 0x01
                await raw.push(Frame.encode(sealed))
            }
        }
        add("after the key exchange: the length prefix's top bit flipped", .reason(.frameTooLarge)) { raw in
            try await raw.toPassword()
            var frame = Frame.encode(try raw.sealer!.seal(ClientMessage.password(password).encoded()))
            frame[0] ^= 0x80
            await raw.push(frame)
        }
        add("after the key exchange: the password prompt reflected", .reason(.decryptionFailed)) { raw in
            try await raw.exchangeKeys()
            let prompt = try #require(await raw.nextFrame())
            #expect(try ServerMessage(decoding: raw.opener!.open(prompt)) == .passwordPrompt)
            await raw.push(Frame.encode(prompt))
        }
        add("after the key exchange: name and password swapped", .reason(.decryptionFailed)) { raw in
            try await raw.toPassword()
            let password = try raw.sealer!.seal(ClientMessage.password(password).encoded())
            let name = try raw.sealer!.seal(ClientMessage.name("eve").encoded())
            await raw.push(Frame.encode(name) + Frame.encode(password))
        }
        add("after the key exchange: a truncated frame, then silence", .reason(.handshakeTimeout), .stepDeadline) {
            raw in
            try await raw.toPassword()
            await raw.push(
                Array(Frame.encode(try raw.sealer!.seal(ClientMessage.password(password).encoded())).prefix(9)))
        }
        for (label, plaintext) in [
            ("an unknown message type", [0x00]), ("another unknown message type", [0xFF, 1, 2, 3]),
            ("a password with a trailing byte", ClientMessage.password(password).encoded() + [0]),
            ("a truncated password message", [0x81, 0x00]),
        ] as [(String, [UInt8])] {
            add("after the key exchange: \(label)", .reason(.protocolViolation)) { raw in
                try await raw.toPassword()
                await raw.push(Frame.encode(try raw.sealer!.seal(plaintext)))
            }
        }
        for (label, message) in strayMessages where label != "password" {
            add("awaiting the password: a \(label) message", .reason(.protocolViolation)) { raw in
                try await raw.toPassword()
                await raw.push(Frame.encode(try raw.sealer!.seal(message.encoded())))
            }
        }

        // After the password: the server expects the name.
        for (label, message) in strayMessages where label != "name" {
            add("awaiting the name: a \(label) message", .reason(.protocolViolation)) { raw in
                try await raw.toName(password: TargetProcess.password)
                await raw.push(Frame.encode(try raw.sealer!.seal(message.encoded())))
            }
        }
        add("awaiting the name: the password frame replayed", .reason(.decryptionFailed)) { raw in
            try await raw.toPassword()
            let sealed = try await raw.send(.password(password))
            guard try await raw.receive() == .namePrompt else { throw RawClientError("no name prompt") }
            await raw.push(Frame.encode(sealed))
        }
        // An invalid name is answered with nameRejected, twice; the third ends the connection.
        add("awaiting the name: three names with control characters", .reason(.invalidName)) { raw in
            try await raw.toName(password: TargetProcess.password)
            for _ in 0..<3 {
                await raw.push(Frame.encode(try raw.sealer!.seal(ClientMessage.name("eve\u{0}\u{7}").encoded())))
            }
        }

        // In an accepted session.
        for label in ["password", "name"] {
            add("in session: a \(label) message", .reason(.protocolViolation)) { raw in
                _ = try await raw.handshake(password: password)
                await raw.push(Frame.encode(try raw.sealer!.seal(strayMessages[label]!.encoded())))
            }
        }
        add("in session: a length prefix of FF FF FF FF", .reason(.frameTooLarge)) { raw in
            _ = try await raw.handshake(password: password)
            await raw.push([0xFF, 0xFF, 0xFF, 0xFF])
        }
        add("in session: unframed garbage", .reason(.frameTooLarge)) { raw in
            _ = try await raw.handshake(password: password)
            var garbage = try SecureRandom.bytes(count: 8192)
            garbage[0] |= 0x01
            await raw.push(garbage)
        }
        add("in session: a zero-length frame", .reason(.decryptionFailed)) { raw in
            _ = try await raw.handshake(password: password)
            await raw.push(Frame.encode([]))
        }
        add("in session: framed garbage", .reason(.decryptionFailed)) { raw in
            _ = try await raw.handshake(password: password)
            await raw.push(Frame.encode(try SecureRandom.bytes(count: 300)))
        }
        for position in [0, 12, 40] {
            add("in session: request frame with byte \(position) flipped", .reason(.decryptionFailed)) { raw in
                _ = try await raw.handshake(password: password)
                var sealed = try raw.sealer!.seal(
                    ClientMessage.request(Request(id: 1, service: "echo", body: [UInt8](repeating: 7, count: 8)))
                        .encoded()
                )
                sealed[position] ^= 0x01
                await raw.push(Frame.encode(sealed))
            }
        }
        add("in session: a request replayed", .reason(.decryptionFailed)) { raw in
            _ = try await raw.handshake(password: password)
            let sealed = try await raw.send(.request(Request(id: 1, service: "echo", body: [1])))
            guard case .response? = try await raw.receive() else { throw RawClientError("no response") }
            await raw.push(Frame.encode(sealed))
        }
        add("in session: two pings reordered", .reason(.decryptionFailed)) { raw in
            _ = try await raw.handshake(password: password)
            let first = try raw.sealer!.seal(ClientMessage.ping(1).encoded())
            let second = try raw.sealer!.seal(ClientMessage.ping(2).encoded())
            await raw.push(Frame.encode(second) + Frame.encode(first))
        }
        add("in session: a response reflected", .reason(.decryptionFailed)) { raw in
            _ = try await raw.handshake(password: password)
            try await raw.send(.request(Request(id: 1, service: "echo", body: [1])))
            let response = try #require(await raw.nextFrame())
            guard case .response = try ServerMessage(decoding: raw.opener!.open(response)) else {
                throw RawClientError("no response")
            }
            await raw.push(Frame.encode(response))
        }
        add("in session: a truncated frame, then silence", .reason(.idleTimeout), .idleTimeout) { raw in
            _ = try await raw.handshake(password: password)
            let sealed = try raw.sealer!.seal(ClientMessage.ping(1).encoded())
            await raw.push(Array(Frame.encode(sealed).prefix(10)))
        }
        return attacks
    }

    /// A valid message of each kind, to send where it does not belong.
    static let strayMessages: [String: ClientMessage] = [
        "password": .password(password), "name": .name("eve"),
        "request": .request(Request(id: 1, service: "echo", body: [1])), "server name query": .serverNameQuery,
        "ping": .ping(1), "pong": .pong(1), "bye": .bye, "rename": .rename(requestID: 1, name: "eve"),
        "key update": .keyUpdate(try! KeyUpdate.random(requestsUpdate: false)),
    ]
}
