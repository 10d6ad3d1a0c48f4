@_spi(Benchmarks) import LaboratoryCrypto

/// The client side of the v1 handshake as a pure state machine, the mirror of
/// ``ServerHandshake``.
///
/// `AwaitingHello → AwaitingTrust → AwaitingPasswordPrompt → AwaitingNamePrompt →
/// AwaitingAcceptance → Accepted`, plus `AwaitingNewName` (the server rejected the name and the
/// caller chooses another, or gives up) and a terminal `failed` state. It performs no I/O: each input
/// returns the ``Action``s the connection must carry out, in order, and a failure throws a
/// ``Failure`` that says at which step and why (the machine is then `failed`). The connection
/// owns the socket and the record layer: it opens each frame with the keys of the last
/// ``Action/installKeys(_:)`` and hands the machine the message, or tells it the frame did not
/// open.
///
/// What the client checks and in which order follows `Docs/PROTOCOL.md` §4: the hello's form, the
/// transport key's certificate (signature by the identity key, validity window), then the identity
/// key against what the client trusts, which is the caller's decision (a pin, a known-hosts file,
/// a custom rule): ``Action/checkTrust(fingerprint:)`` asks for it and ``trustDecided(mismatch:secret:)``
/// answers. Nothing is sent before that answer.
@_spi(Benchmarks) public struct ClientHandshake: Sendable {
    /// What the client answers the prompts with.
    public struct Credentials: Sendable {
        /// The server password.
        public var password: String
        /// The display name to ask for.
        public var name: String
        /// Ask for an unencrypted session (only servers that allow it accept).
        public var plaintext: Bool
        /// How far apart the two clocks may be when checking the transport key's validity.
        public var clockSkewMilliseconds: UInt64

        /// Creates credentials; the clock skew tolerance defaults to 10 minutes.
        public init(password: String, name: String, plaintext: Bool = false, clockSkewMilliseconds: UInt64 = 600_000) {
            self.password = password
            self.name = name
            self.plaintext = plaintext
            self.clockSkewMilliseconds = clockSkewMilliseconds
        }
    }

    /// Something the connection must do.
    public enum Action: Hashable, Sendable {
        /// Decide whether the identity key with this fingerprint is the server's (pin, known
        /// hosts, custom), then call ``ClientHandshake/trustDecided(mismatch:secret:)``.
        case checkTrust(fingerprint: String)
        /// Send this payload as a plaintext frame (the key exchange).
        case sendPlaintext([UInt8])
        /// From now on, seal outbound frames with the client-to-server key and open inbound ones
        /// with the server-to-client key.
        case installKeys(SessionKeys)
        /// Send this message (sealed if keys are installed).
        case send(ClientMessage)
        /// The server accepted the client: the session begins.
        case accepted(Acceptance)
        /// The server rejected the display name and takes another: call
        /// ``ClientHandshake/retryName(_:)`` with a new one, or ``ClientHandshake/giveUpName()``.
        case nameRejected(NameRejection)
    }

    /// The step of the handshake a failure happened in.
    public enum Step: String, Hashable, Sendable {
        case hello, keyExchange, password, name
    }

    /// Why the handshake failed, and at which step. Nothing more is sent after a failure.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The kinds of failure.
        public enum Kind: Hashable, Sendable {
            /// The server sent `closing` (a refusal at accept, a wrong password, a timeout, ...).
            case closedByServer(CloseReason)
            /// The transport key's certificate is not valid (not signed by the identity key, out of
            /// its validity window, unusable). Nothing was sent.
            case badCertificate
            /// The identity key is not the one the client trusts. Nothing was sent.
            case untrustedKey
            /// A frame from the server did not open with the session keys.
            case decryptionFailed
            /// The server sent something malformed or out of order.
            case protocolViolation
            /// The server rejected the display name and the caller had no other to offer.
            case nameRejected(NameRejection)
        }

        /// What went wrong.
        public var kind: Kind
        /// At which step.
        public var step: Step
        /// In words.
        public var message: String

        public var description: String { "\(step): \(message)" }
    }

    /// The phase the handshake is in.
    public enum State: Sendable {
        case awaitingHello
        /// The hello and its certificate are good; the caller decides whether to trust the key.
        case awaitingTrust(AwaitingTrust)
        case awaitingPasswordPrompt
        case awaitingNamePrompt
        case awaitingAcceptance
        /// The server rejected the name; the caller picks another.
        case awaitingNewName(NameRejection)
        case accepted(Acceptance)
        case failed(Failure)
    }

    /// A checked hello, waiting for the trust decision.
    public struct AwaitingTrust: Sendable {
        let helloPayload: [UInt8]
        let serverRandom: [UInt8]
        /// The transport key, its certificate checked against the hello's identity key. A client
        /// that opens many connections to one server may keep it for the next hello (see
        /// ``ClientHandshake/receiveHello(_:now:verified:)``).
        public let transportKey: VerifiedTransportKey
        /// The identity key's fingerprint (`SHA256:` and unpadded base64), as the caller checks it.
        public let fingerprint: String
    }

    /// A transport key whose certificate's signature a client has checked against an identity key.
    ///
    /// Checking the signature is one RSA public-key operation per connection. A client that opens
    /// many connections to the same server (a load generator) may keep the value it got from
    /// ``AwaitingTrust/transportKey`` and offer it for later hellos: when the hello carries exactly
    /// the same identity key and certificate, the signature is not checked again. The validity
    /// window is checked on every hello all the same.
    public struct VerifiedTransportKey: Sendable {
        /// The identity key (DER SubjectPublicKeyInfo) the certificate was checked against.
        public let identityKeySPKI: [UInt8]
        /// The checked certificate.
        public let certificate: TransportKeyCertificate
        /// The certified transport key, which the client encrypts its secret to.
        public let publicKey: RSAPublicKey
    }

    /// The current state.
    public private(set) var state: State = .awaitingHello
    private let credentials: Credentials

    /// Creates the machine; feed it the first frame with ``receiveHello(_:now:)``.
    public init(credentials: Credentials) {
        self.credentials = credentials
    }

    /// The step the handshake is at, for errors.
    public var step: Step {
        switch state {
        case .awaitingHello, .awaitingTrust: .hello
        case .awaitingPasswordPrompt: .keyExchange
        case .awaitingNamePrompt: .password
        case .awaitingAcceptance, .awaitingNewName, .accepted, .failed: .name
        }
    }

    /// Whether the server has accepted the client.
    public var isAccepted: Bool {
        if case .accepted = state { return true }
        return false
    }

    /// Handles the server's first frame: a hello, or a `closing` refusing the connection.
    ///
    /// - Parameters:
    ///   - now: the client's clock, in milliseconds since 1970, for the certificate's validity
    ///     window.
    ///   - verified: looks up a transport key this client has already verified for the hello's
    ///     certificate (see ``VerifiedTransportKey``); by default there is none and the signature
    ///     is checked.
    public mutating func receiveHello(
        _ payload: [UInt8], now: UInt64,
        verified: (TransportKeyCertificate) -> VerifiedTransportKey? = { _ in nil }
    ) throws -> [Action] {
        guard case .awaitingHello = state else { throw fail(.protocolViolation, "a second hello") }
        // A server refusing the connection at accept sends its reason instead of the hello.
        if case .closing(let reason)? = try? ServerMessage(decoding: payload) {
            throw fail(.closedByServer(reason), "the server refused: \(reason.message)")
        }
        let hello: ServerHello
        do {
            hello = try ServerHello(decoding: payload)
        } catch let error as ProtocolError {
            throw fail(.protocolViolation, error.closeReason.message)
        } catch {
            throw fail(.protocolViolation, "the server's hello is malformed: \(error)")
        }
        // Only a transport key the identity signed, within its validity window, is ever used. A
        // kept key stands in for the signature check only for the very same identity and certificate.
        let transportKey: VerifiedTransportKey
        do {
            if let known = verified(hello.transportKey), known.certificate == hello.transportKey,
                known.identityKeySPKI == hello.identityKeySPKI
            {
                try known.certificate.checkValidity(now: now, skew: credentials.clockSkewMilliseconds)
                transportKey = known
            } else {
                let identity: RSAPublicKey
                do {
                    identity = try RSAPublicKey(spkiDER: hello.identityKeySPKI)
                } catch {
                    throw fail(.protocolViolation, "the server's identity key is unusable: \(error)")
                }
                transportKey = VerifiedTransportKey(
                    identityKeySPKI: hello.identityKeySPKI, certificate: hello.transportKey,
                    publicKey: try hello.transportKey.verify(
                        identity: identity, now: now, skew: credentials.clockSkewMilliseconds))
            }
        } catch let error as ProtocolError {
            throw fail(.badCertificate, error.closeReason.message)
        }
        // The fingerprint covers the identity key's bytes exactly as the server sent them.
        let fingerprint = RSAPublicKey.fingerprint(ofSPKI: hello.identityKeySPKI)
        state = .awaitingTrust(
            AwaitingTrust(
                helloPayload: payload, serverRandom: hello.serverRandom, transportKey: transportKey,
                fingerprint: fingerprint))
        return [.checkTrust(fingerprint: fingerprint)]
    }

    /// The caller's trust decision on the identity key: `nil` if it is trusted, otherwise why not.
    ///
    /// - Parameter secret: 32 fresh random bytes for the key exchange (injected so tests are
    ///   deterministic); unused for a plaintext session.
    public mutating func trustDecided(mismatch: String?, secret: [UInt8]) throws -> [Action] {
        guard case .awaitingTrust(let awaiting) = state else {
            throw fail(.protocolViolation, "a trust decision without a hello to decide on")
        }
        if let mismatch { throw fail(.untrustedKey, mismatch) }
        state = .awaitingPasswordPrompt
        if credentials.plaintext { return [.sendPlaintext([])] }
        precondition(secret.count == SessionKeys.secretByteCount, "the secret is 32 bytes")
        let keys: SessionKeys
        let exchange: [UInt8]
        do {
            keys = try SessionKeys.derive(
                secret: secret, serverRandom: awaiting.serverRandom, helloPayload: awaiting.helloPayload)
            exchange = try awaiting.transportKey.publicKey.encryptOAEP(secret)
        } catch {
            throw fail(.badCertificate, "could not encrypt to the transport key: \(error)")
        }
        return [.sendPlaintext(exchange), .installKeys(keys)]
    }

    /// Handles an opened message from the server during the handshake.
    public mutating func receive(_ message: ServerMessage) throws -> [Action] {
        switch (state, message) {
        case (.awaitingHello, _), (.awaitingTrust, _), (.accepted, _), (.failed, _):
            throw fail(.protocolViolation, "a message from the server before the hello was handled or after the end")
        case (_, .closing(let reason)):
            throw fail(.closedByServer(reason), "the server refused: \(reason.message)")
        case (.awaitingPasswordPrompt, .passwordPrompt):
            state = .awaitingNamePrompt
            return [.send(.password(credentials.password))]
        case (.awaitingNamePrompt, .namePrompt):
            state = .awaitingAcceptance
            return [.send(.name(credentials.name))]
        case (.awaitingAcceptance, .accepted(let acceptance)):
            state = .accepted(acceptance)
            return [.accepted(acceptance)]
        case (.awaitingAcceptance, .nameRejected(let rejection)):
            state = .awaitingNewName(rejection)
            return [.nameRejected(rejection)]
        default:
            throw fail(.protocolViolation, "unexpected message from the server: \(message)")
        }
    }

    /// The caller's next display name after ``Action/nameRejected(_:)``.
    public mutating func retryName(_ name: String) throws -> [Action] {
        guard case .awaitingNewName = state else {
            throw fail(.protocolViolation, "a new name without a rejected one")
        }
        state = .awaitingAcceptance
        return [.send(.name(name))]
    }

    /// The caller has no other name after ``Action/nameRejected(_:)``: the handshake fails with
    /// the server's reason, and the connection closes. Always throws.
    public mutating func giveUpName() throws -> Never {
        guard case .awaitingNewName(let rejection) = state else {
            throw fail(.protocolViolation, "giving up a name without a rejected one")
        }
        throw fail(.nameRejected(rejection), "the server rejected the name: \(rejection.reason)")
    }

    /// A frame from the server did not open with the session keys (or did not decode). Before the
    /// server has processed the key exchange it can only close in plaintext, so a plaintext
    /// `closing` then is the server's reason; anything else is a decryption failure. Always throws.
    public mutating func receiveUnopenable(_ payload: [UInt8]) throws -> Never {
        if case .awaitingPasswordPrompt = state, case .closing(let reason)? = try? ServerMessage(decoding: payload) {
            throw fail(.closedByServer(reason), "the server refused: \(reason.message)")
        }
        throw fail(.decryptionFailed, "a frame from the server did not authenticate")
    }

    private mutating func fail(_ kind: Failure.Kind, _ message: String) -> Failure {
        let failure = Failure(kind: kind, step: step, message: message)
        state = .failed(failure)
        return failure
    }
}
