// The server's handshake state machine fed arbitrary frames, as `Connection` feeds it: the key
// exchange while it expects one, then frames opened with the installed keys (or as they are in a
// plaintext session) and decoded as client messages.
//
// The input is a script of operations, each one byte and most followed by a length byte and that
// many bytes: a raw frame; a frame sealed with the keys an honest client would have (so that the
// fuzzer reaches the states behind the key exchange); the honest key exchange; the right
// password; a display name; the empty key exchange (asking for plaintext); a clock advance and a
// deadline check. Invariants: only `ProtocolError` is thrown, and only by a machine that then
// says it failed; a failed machine refuses everything; states only move forward; a close is
// always the last action and leaves the machine failed; keys are installed once, and are the
// honest client's exactly when it sent the honest key exchange; a client is accepted only after
// the right password, under a valid name; every deadline falls within the total timeout.

@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol

#if canImport(Glibc)
    import Glibc
#endif

enum Fixture {
    static let password = "fuzz password"
    static let stepTimeout = Duration.seconds(10)
    static let totalTimeout = Duration.seconds(25)
    static let identity = makeKey()
    static let transport = makeKey()
    static let offer: TransportKeyOffer = {
        do {
            let certificate = try TransportKeyCertificate.issue(
                for: transport.publicKey, by: identity, notBefore: 0, notAfter: UInt64.max)
            return TransportKeyOffer(privateKey: transport, certificate: certificate)
        } catch {
            fatalError("certificate: \(error)")
        }
    }()
    /// A fixed server random, so that the honest client's keys are the same for every input.
    static let serverRandom = [UInt8](repeating: 0x42, count: 32)
    static let hello = ServerHello(
        identityKeySPKI: identity.publicKey.spkiDER, transportKey: offer.certificate, serverRandom: serverRandom
    ).encoded()
    static let secret = [UInt8](repeating: 0x5A, count: 32)
    /// The honest client's key exchange and keys, as the client's own state machine makes them.
    static let honest: (exchange: [UInt8], keys: SessionKeys) = {
        var client = ClientHandshake(credentials: .init(password: password, name: "Ada"))
        do {
            _ = try client.receiveHello(hello, now: 1)
            let actions = try client.trustDecided(mismatch: nil, secret: secret)
            guard case .sendPlaintext(let exchange) = actions.first, case .installKeys(let keys) = actions.last else {
                fatalError("the client's key exchange: \(actions)")
            }
            return (exchange, keys)
        } catch {
            fatalError("the client's key exchange: \(error)")
        }
    }()
    static var honestExchange: [UInt8] { honest.exchange }
    static var honestKeys: SessionKeys { honest.keys }

    static func configuration(allowsPlaintext: Bool) -> HandshakeConfiguration {
        HandshakeConfiguration(
            identityKeySPKI: identity.publicKey.spkiDER, password: password, serverName: "fuzz", services: ["echo"],
            stepTimeout: stepTimeout, totalTimeout: totalTimeout, allowsPlaintext: allowsPlaintext)
    }

    private static func makeKey() -> RSAPrivateKey {
        do { return try RSAPrivateKey(bitCount: 2048) } catch { fatalError("key generation: \(error)") }
    }
}

/// One connection's handshake, driven by a script.
struct Session {
    typealias Machine = ServerHandshake<TestClock>

    let clock = TestClock()
    var machine: Machine
    /// The server's opener, once it installed keys.
    var opener: RecordOpener?
    /// The honest client's sealer, once the honest key exchange was accepted.
    var sealer: RecordSealer?
    var plaintext = false
    var keysInstalled = 0
    var sentRightPassword = false
    var closed = false
    /// `nameRejected` answers so far: only after the right password, fewer than the attempts.
    var nameRejections = 0

    init(allowsPlaintext: Bool) {
        machine = Machine(
            configuration: Fixture.configuration(allowsPlaintext: allowsPlaintext), transportKey: Fixture.offer,
            connectionID: 1, serverRandom: Fixture.serverRandom, clock: clock)
        let start = machine.start()
        check(start.count == 2 && start[0] == .sendPlaintext(Fixture.hello), "unexpected start \(start)")
        check(machine.start().isEmpty, "start's actions came twice")
    }

    var rank: Int {
        switch machine.state {
        case .awaitingKey: 0
        case .awaitingPassword: 1
        case .rejectingPassword: 2
        case .awaitingName: 2
        case .accepted: 3
        case .failed: 4
        }
    }

    var failed: Bool {
        if case .failed = machine.state { return true }
        return false
    }

    /// Seals `plaintext` as the honest client would, if it has keys.
    func sealed(_ plaintext: [UInt8]) -> [UInt8] {
        guard let sealer else { return plaintext }
        do { return try sealer.seal(plaintext) } catch { fatalError("seal: \(error)") }
    }

    /// Handles one inbound frame the way `Connection.receive` does before acceptance. The
    /// connection closes when the record layer or the decoder refuses the frame (the machine
    /// never sees it) or when the machine throws or says to close.
    mutating func receive(_ frame: [UInt8], honestExchange: Bool = false) {
        // The connection reads nothing while the machine says not to (a wrong password's delay).
        if case .rejectingPassword = machine.state {
            check(!machine.readsFrames, "a rejecting machine asks for frames")
            return
        }
        let before = rank
        let actions: [Machine.Action]
        if machine.expectsKeyExchange {
            do {
                actions = try machine.receiveKeyExchange(frame)
            } catch {
                fatalError("the key exchange threw: \(error)")
            }
        } else {
            let opened: [UInt8]
            if let opener {
                do {
                    opened = try opener.open(frame)
                } catch let error as ProtocolError {
                    check(error.closeReason.code == .decryptionFailed, "opening threw \(error)")
                    closed = true
                    return
                } catch {
                    fatalError("opening threw a non-protocol error: \(error)")
                }
            } else {
                check(plaintext, "past the key exchange with neither keys nor plaintext")
                opened = frame
            }
            let message: ClientMessage
            do {
                message = try ClientMessage(decoding: opened)
            } catch is ProtocolError {
                closed = true
                return
            } catch {
                fatalError("decoding threw a non-protocol error: \(error)")
            }
            do {
                actions = try machine.receive(message)
            } catch let error as ProtocolError {
                check(failed, "the machine threw \(error) without failing")
                check(error.closeReason.code == .protocolViolation, "the machine threw \(error)")
                closed = true
                return
            } catch {
                fatalError("the machine threw a non-protocol error: \(error)")
            }
        }
        apply(actions, honestExchange: honestExchange)
        check(rank >= before, "the machine went back from state \(before) to \(rank)")
    }

    /// The script advanced the clock; the connection's timer fires.
    mutating func deadlinePassed(by duration: Duration) {
        clock.advance(by: duration)
        let wasFailed = failed
        let actions = machine.deadlineExpired()
        if wasFailed { check(actions.isEmpty, "a failed machine acted on a deadline") }
        apply(actions, honestExchange: false)
    }

    private mutating func apply(_ actions: [Machine.Action], honestExchange: Bool) {
        for (index, action) in actions.enumerated() {
            switch action {
            case .sendPlaintext:
                fatalError("the hello was sent again")
            case .installKeys(let keys):
                keysInstalled += 1
                check(keysInstalled == 1, "keys were installed twice")
                check(
                    (keys == Fixture.honestKeys) == honestExchange,
                    honestExchange ? "the honest exchange did not give the honest keys" : "garbage gave the honest keys"
                )
                do {
                    opener = try RecordOpener(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                    if honestExchange {
                        sealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                    }
                } catch {
                    fatalError("record layer: \(error)")
                }
            case .usePlaintext:
                check(!plaintext && keysInstalled == 0, "plaintext after keys, or twice")
                plaintext = true
            case .send(let message):
                if case .accepted = message { check(sentRightPassword, "accepted without the right password") }
                if case .nameRejected(let rejection) = message {
                    nameRejections += 1
                    check(sentRightPassword, "a name rejected without the right password")
                    check(
                        nameRejections < 3 && Int(rejection.attemptsLeft) == 3 - nameRejections,
                        "name attempts not counted down: \(rejection)")
                }
            case .setDeadline(let deadline):
                if let deadline {
                    check(deadline.offset <= Fixture.totalTimeout, "a deadline past the total timeout: \(deadline)")
                }
            case .accept(let name):
                check(sentRightPassword, "accepted without the right password")
                check((try? DisplayName.validate(name)) == name, "accepted an invalid name")
            case .close:
                check(index == actions.count - 1, "actions after a close: \(actions)")
                check(failed, "closed without failing")
                closed = true
            }
        }
    }
}

/// With `LABORATORY_FUZZ_TRACE` set, each input's final state is printed (to check the seeds).
let tracing = getenv("LABORATORY_FUZZ_TRACE") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshake(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = InputReader(bytes(data, size))
    guard let flags = input.byte() else { return 0 }
    var session = Session(allowsPlaintext: flags & 1 == 1)
    while !input.isAtEnd {
        guard let operation = input.byte() else { break }
        switch operation % 8 {
        case 0:
            let length = Int(input.byte() ?? 0) | Int(operation >> 3) << 8
            session.receive(input.take(length))
        case 1:
            session.receive(session.sealed(input.take(Int(input.byte() ?? 0))))
        case 2:
            session.receive(Fixture.honestExchange, honestExchange: session.machine.expectsKeyExchange)
        case 3:
            session.sentRightPassword = true
            session.receive(session.sealed(ClientMessage.password(Fixture.password).encoded()))
        case 4:
            let name = String(decoding: input.take(Int(input.byte() ?? 0)), as: UTF8.self)
            session.receive(session.sealed(ClientMessage.name(name).encoded()))
        case 5:
            session.receive([])
        case 6:
            session.deadlinePassed(by: .milliseconds(Int(input.byte() ?? 0) * 100))
        default:
            // A password that is not the server's.
            let guess = String(decoding: input.take(Int(input.byte() ?? 0)), as: UTF8.self)
            session.receive(session.sealed(ClientMessage.password(guess).encoded()))
        }
        if session.closed {
            // The connection is gone; a machine that failed must refuse whatever still comes.
            if session.failed {
                let before = session.machine.stepName
                check((try? session.machine.receive(.bye)) == nil, "a failed machine took a message")
                check(session.machine.stepName == before, "a failed machine changed state")
            }
            break
        }
    }
    if tracing { print("handshake ended \(session.machine.stepName)\(session.closed ? ", closed" : "")") }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    writeSeedsIfAsked {
        let name = Array("Ada".utf8)
        return [
            ("happy-path", [0, 2, 3, 4, UInt8(name.count)] + name),
            ("wrong-password", [0, 2, 7, 5] + Array("guess".utf8)),
            ("plaintext", [1, 5, 3, 4, UInt8(name.count)] + name),
            ("plaintext-refused", [0, 5, 3]),
            ("garbage-exchange", [0, 0, 16] + [UInt8](repeating: 0xAB, count: 16) + [3]),
            ("late-password", [0, 2, 6, 120, 3]),
            ("slow-steps", [0, 6, 90, 2, 6, 90, 3, 6, 90, 4, UInt8(name.count)] + name),
            ("sealed-bye", [0, 2, 1, 1, 0x95]),
        ]
    }
    return 0
}
