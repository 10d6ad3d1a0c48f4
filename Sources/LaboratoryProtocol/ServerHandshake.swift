@_spi(Benchmarks) import LaboratoryCrypto

/// The server side of the v1 handshake as a pure state machine.
///
/// `AwaitingKey → AwaitingPassword → AwaitingName → Accepted`, plus `RejectingPassword` (a wrong
/// password waiting out its delay) and a terminal `failed` state. An invalid display name keeps the
/// machine in `AwaitingName` (answered with `nameRejected`) until the configured number of
/// attempts is used up.
/// It performs no I/O: each input returns the ``Action``s the connection must carry out, in order.
/// Any message that is not the one expected in the current state throws a ``ProtocolError`` and
/// moves the machine to `failed`. Deadlines come from the injected clock and are absolute per
/// step: the deadline for a step is fixed when the step begins.
@_spi(Benchmarks) public struct ServerHandshake<C: Clock>: Sendable where C.Duration == Duration {
    /// Something the connection must do.
    public enum Action: Hashable, Sendable {
        /// Send this payload as a plaintext frame (only the hello).
        case sendPlaintext([UInt8])
        /// From now on, seal outbound and open inbound frames with these keys.
        case installKeys(SessionKeys)
        /// From now on, frames are unsealed (the client asked and the server allows it).
        case usePlaintext
        /// Send this message (sealed if keys are installed).
        case send(ServerMessage)
        /// The handshake's current deadline; `nil` once accepted.
        case setDeadline(C.Instant?)
        /// The client is accepted under this display name.
        case accept(displayName: String)
        /// Send `closing` with this reason if the peer can read it, then close.
        case close(CloseReason)
    }

    /// Waiting for the client's encrypted secret. The only state that holds the transport key.
    public struct AwaitingKey: Sendable {
        let hello: [UInt8]
        let serverRandom: [UInt8]
        let transportKey: RSAPrivateKey
        let deadline: C.Instant
    }

    /// Keys are installed; waiting for the password.
    public struct AwaitingPassword: Sendable {
        let deadline: C.Instant
        init(from previous: AwaitingKey, deadline: C.Instant) { self.deadline = deadline }
    }

    /// The password was wrong: the rejection waits for the wrong-password delay, and the connection
    /// reads nothing meanwhile. Whichever comes first ends it: the step's deadline (code 5, handshake
    /// timeout), or the end of the delay (code 6, wrong password). A graceful shutdown ends it at once
    /// (the connection's business: code 9).
    public struct RejectingPassword: Sendable {
        let deadline: C.Instant
        let rejectAt: C.Instant
        init(from previous: AwaitingPassword, rejectAt: C.Instant) {
            self.deadline = previous.deadline
            self.rejectAt = rejectAt
        }
    }

    /// The password was right; waiting for the display name.
    public struct AwaitingName: Sendable {
        let deadline: C.Instant
        /// How many more names the client may send, this one included.
        let attemptsLeft: UInt8
        init(from previous: AwaitingPassword, deadline: C.Instant, attempts: UInt8) {
            self.deadline = deadline
            self.attemptsLeft = max(1, attempts)
        }
        /// The same step after an invalid name: one attempt fewer, a new step deadline.
        init(retrying previous: AwaitingName, deadline: C.Instant) {
            self.deadline = deadline
            self.attemptsLeft = previous.attemptsLeft - 1
        }
    }

    /// The client is in.
    public struct Accepted: Sendable {
        /// The validated display name.
        public let displayName: String
        init(from previous: AwaitingName, displayName: String) { self.displayName = displayName }
    }

    /// The phase the handshake is in.
    public enum State: Sendable {
        case awaitingKey(AwaitingKey)
        case awaitingPassword(AwaitingPassword)
        case rejectingPassword(RejectingPassword)
        case awaitingName(AwaitingName)
        case accepted(Accepted)
        case failed(CloseReason)
    }

    /// The current state.
    public private(set) var state: State
    private let configuration: HandshakeConfiguration
    private let connectionID: UInt64
    private let clock: C
    private let handshakeDeadline: C.Instant
    private var pendingStart: [Action]

    /// Creates the machine; call ``start()`` once for the hello and the first deadline.
    ///
    /// - Parameters:
    ///   - transportKey: the transport key this connection's hello offers; it is released as soon
    ///     as the key exchange has been processed.
    ///   - serverRandom: 32 fresh random bytes (injected so tests are deterministic).
    public init(
        configuration: HandshakeConfiguration, transportKey: TransportKeyOffer, connectionID: UInt64,
        serverRandom: [UInt8], clock: C
    ) {
        let hello = ServerHello(
            identityKeySPKI: configuration.identityKeySPKI, transportKey: transportKey.certificate,
            serverRandom: serverRandom
        ).encoded()
        let start = clock.now
        self.configuration = configuration
        self.connectionID = connectionID
        self.clock = clock
        self.handshakeDeadline = start.advanced(by: configuration.totalTimeout)
        let deadline = min(start.advanced(by: configuration.stepTimeout), handshakeDeadline)
        self.state = .awaitingKey(
            AwaitingKey(
                hello: hello, serverRandom: serverRandom, transportKey: transportKey.privateKey, deadline: deadline))
        self.pendingStart = [.sendPlaintext(hello), .setDeadline(deadline)]
    }

    /// The deadline for a step that begins now: the step timeout, but never past the deadline of
    /// the handshake as a whole.
    private func nextStepDeadline() -> C.Instant {
        min(clock.now.advanced(by: configuration.stepTimeout), handshakeDeadline)
    }

    /// The actions that open the connection: send the hello, arm the first deadline.
    public mutating func start() -> [Action] {
        defer { pendingStart = [] }
        return pendingStart
    }

    /// Whether the connection should read another frame now. `false` while a wrong password waits
    /// out its delay: the connection stops reading, so a client cannot make it buffer anything,
    /// and only ``deadlineExpired()`` (at ``currentDeadline``) moves the machine on.
    public var readsFrames: Bool {
        switch state {
        case .rejectingPassword, .accepted, .failed: false
        case .awaitingKey, .awaitingPassword, .awaitingName: true
        }
    }

    /// Whether the client has given the right password (the name step or later): it is then
    /// penalised as an accepted session would be, not as a stranger.
    /// Stays `true` once set, whatever ends the handshake afterwards.
    package private(set) var passwordAccepted = false

    /// Whether the next inbound frame is the plaintext key exchange rather than a message.
    public var expectsKeyExchange: Bool {
        if case .awaitingKey = state { return true }
        return false
    }

    /// The name of the current step, for logs and close reasons.
    public var stepName: String {
        switch state {
        case .awaitingKey: "awaiting key"
        case .awaitingPassword: "awaiting password"
        case .rejectingPassword: "rejecting password"
        case .awaitingName: "awaiting name"
        case .accepted: "accepted"
        case .failed: "failed"
        }
    }

    /// Handles the client's key exchange frame: its secret encrypted with RSA-OAEP-SHA256, or an
    /// empty payload asking for plaintext.
    ///
    /// A ciphertext that does not decrypt to 32 bytes is not reported: the server carries on with
    /// a random secret (implicit rejection), so the client's next frame fails to open. A wrong
    /// ciphertext and a garbled one therefore look the same on the wire.
    public mutating func receiveKeyExchange(_ payload: [UInt8]) throws -> [Action] {
        guard case .awaitingKey(let awaiting) = state else {
            throw fail(.unexpected("key exchange", in: stepName))
        }
        // A message that arrives after its step's deadline is too late, even if the connection's
        // timer has not fired yet.
        let expired = deadlineExpired()
        guard expired.isEmpty else { return expired }
        let deadline = nextStepDeadline()
        if payload.isEmpty {
            guard configuration.allowsPlaintext else {
                let reason = CloseReason(
                    .plaintextNotAllowed,
                    "this server requires encryption; send a 32-byte secret encrypted to the server's key")
                state = .failed(reason)
                return [.close(reason)]
            }
            state = .awaitingPassword(AwaitingPassword(from: awaiting, deadline: deadline))
            return [.usePlaintext, .send(.passwordPrompt), .setDeadline(deadline)]
        }
        // Implicit rejection: the random fallback is drawn before decrypting, and the decryption
        // picks between the secret and the fallback without building an error or branching, so a
        // malformed ciphertext and a well-formed one with a wrong secret take the same time.
        let fallback = try SecureRandom.bytes(count: SessionKeys.secretByteCount)
        let secret = awaiting.transportKey.decryptOAEP(payload, orFallback: fallback)
        let keys = try SessionKeys.derive(
            secret: secret, serverRandom: awaiting.serverRandom, helloPayload: awaiting.hello)
        state = .awaitingPassword(AwaitingPassword(from: awaiting, deadline: deadline))
        return [.installKeys(keys), .send(.passwordPrompt), .setDeadline(deadline)]
    }

    /// Handles an opened message during the handshake.
    public mutating func receive(_ message: ClientMessage) throws -> [Action] {
        let expired = deadlineExpired()
        guard expired.isEmpty else { return expired }
        switch (state, message) {
        case (.awaitingPassword(let awaiting), .password(let password)):
            let given = SHA256.hash(Array(password.utf8))
            guard constantTimeEquals(given, configuration.passwordDigest) else {
                // Password guessing is slowed by a delay before the rejection; the delay never
                // outlives the step's deadline (which is never past the handshake's).
                let rejectAt = clock.now.advanced(by: configuration.wrongPasswordDelay)
                guard rejectAt > clock.now else {
                    let reason = Self.wrongPasswordReason
                    state = .failed(reason)
                    return [.close(reason)]
                }
                let rejecting = RejectingPassword(from: awaiting, rejectAt: rejectAt)
                state = .rejectingPassword(rejecting)
                return [.setDeadline(min(rejecting.rejectAt, rejecting.deadline))]
            }
            let deadline = nextStepDeadline()
            passwordAccepted = true
            state = .awaitingName(
                AwaitingName(from: awaiting, deadline: deadline, attempts: configuration.nameAttempts))
            return [.send(.namePrompt), .setDeadline(deadline)]
        case (.awaitingName(let awaiting), .name(let name)):
            let displayName: String
            do {
                displayName = try DisplayName.validate(name)
            } catch let error as ProtocolError {
                // The client proved the password: it is told why and may try again, a bounded
                // number of times, each within a step deadline that never passes the handshake's.
                guard awaiting.attemptsLeft > 1 else {
                    state = .failed(error.closeReason)
                    return [.close(error.closeReason)]
                }
                let retrying = AwaitingName(retrying: awaiting, deadline: nextStepDeadline())
                state = .awaitingName(retrying)
                let rejection = NameRejection(reason: error.closeReason.message, attemptsLeft: retrying.attemptsLeft)
                return [.send(.nameRejected(rejection)), .setDeadline(retrying.deadline)]
            }
            state = .accepted(Accepted(from: awaiting, displayName: displayName))
            let acceptance = Acceptance(
                connectionID: connectionID, serverName: configuration.serverName, services: configuration.services)
            // `accept` first: the connection switches to the session's limits (frame size) before
            // the client can learn it is accepted and send a session-sized frame.
            return [.accept(displayName: displayName), .setDeadline(nil), .send(.accepted(acceptance))]
        case (.rejectingPassword, _):
            // Never read while rejecting (see `readsFrames`); a frame fed anyway changes nothing, so
            // nothing a client sends can end the delay early.
            return []
        default:
            throw fail(.unexpected(message.kind, in: stepName))
        }
    }

    /// The deadline the connection armed has passed. Returns a close action if the current step's
    /// deadline really is past (a stale timer for an earlier step returns nothing).
    public mutating func deadlineExpired() -> [Action] {
        if case .rejectingPassword(let rejecting) = state, clock.now < rejecting.deadline {
            guard clock.now >= rejecting.rejectAt else { return [] }
            state = .failed(Self.wrongPasswordReason)
            return [.close(Self.wrongPasswordReason)]
        }
        guard let deadline = stepDeadline, clock.now >= deadline, let reason = timeoutReason else { return [] }
        state = .failed(reason)
        return [.close(reason)]
    }

    private static var wrongPasswordReason: CloseReason { CloseReason(.wrongPassword, "wrong password") }

    /// The current step's own deadline (for a rejected password, the password step's).
    private var stepDeadline: C.Instant? {
        switch state {
        case .awaitingKey(let s): s.deadline
        case .awaitingPassword(let s): s.deadline
        case .rejectingPassword(let s): s.deadline
        case .awaitingName(let s): s.deadline
        case .accepted, .failed: nil
        }
    }

    /// When ``deadlineExpired()`` must next be called: the current step's deadline, or while a
    /// wrong password is being rejected, the earlier of the end of its delay and that deadline.
    /// `nil` once accepted or failed.
    public var currentDeadline: C.Instant? {
        if case .rejectingPassword(let s) = state { return min(s.rejectAt, s.deadline) }
        return stepDeadline
    }

    /// Why the connection ends if the current deadline passes: the step's own limit, or the total
    /// one when the step's deadline is the handshake's. `nil` once accepted or failed.
    package var timeoutReason: CloseReason? {
        guard let deadline = stepDeadline else { return nil }
        // A rejected password's step is still the password step.
        let step = if case .rejectingPassword = state { "awaiting password" } else { stepName }
        return deadline >= handshakeDeadline
            ? CloseReason(.handshakeTimeout, "handshake not completed within \(configuration.totalTimeout)")
            : CloseReason(
                .handshakeTimeout, "handshake step \"\(step)\" not completed within \(configuration.stepTimeout)")
    }

    private mutating func fail(_ error: ProtocolError) -> ProtocolError {
        state = .failed(error.closeReason)
        return error
    }
}
