import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOCore

/// The client side of one connection: runs the handshake frame by frame, then matches responses
/// to requests and forwards pushed events.
actor ClientConnection {
    enum Phase {
        /// The handshake machine is running.
        case handshaking
        case accepted
        case closed
    }

    struct Credentials: Sendable {
        var password: String
        var name: String
        var trust: ServerTrust
        var endpoint: String
        var plaintext: Bool
        var clockSkewMilliseconds: UInt64
        /// Offers another name when the server rejects one; `nil`: give up at the first rejection.
        var retryName: (@Sendable (NameRejection) async -> String?)?
    }

    nonisolated let channel: any Channel
    private let credentials: Credentials
    private let events: AsyncStream<ClientEvent>.Continuation
    private var phase: Phase = .handshaking
    private var handshake: ClientHandshake
    private var sealer: RecordSealer?
    private var opener: RecordOpener?
    private var acceptanceWaiter: CheckedContinuation<(Acceptance, String), any Error>?
    /// The display name last sent: the session's name once accepted.
    private(set) var displayName: String
    private var fingerprint = ""
    private var nextID: UInt64 = 1
    private var pendingRequests: [UInt64: CheckedContinuation<[UInt8], any Error>] = [:]
    private var nameQueries: [CheckedContinuation<String, any Error>] = []
    private var pings: [UInt64: (sent: ContinuousClock.Instant, waiter: CheckedContinuation<Duration, any Error>)] =
        [:]
    private var serverCloseReason: CloseReason?
    private var failure: ClientError?

    init(channel: any Channel, credentials: Credentials, events: AsyncStream<ClientEvent>.Continuation) {
        self.channel = channel
        self.credentials = credentials
        self.events = events
        self.displayName = credentials.name
        self.handshake = ClientHandshake(
            credentials: ClientHandshake.Credentials(
                password: credentials.password, name: credentials.name, plaintext: credentials.plaintext,
                clockSkewMilliseconds: credentials.clockSkewMilliseconds))
    }

    // MARK: Handshake

    /// Waits until the server accepts us; returns the acceptance and the server's fingerprint.
    func acceptance() async throws -> (Acceptance, String) {
        if let failure { throw failure }
        return try await withCheckedThrowingContinuation { acceptanceWaiter = $0 }
    }

    /// Reads frames until the connection ends.
    func readLoop(_ asyncChannel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await asyncChannel.executeThenClose { inbound, _ in
                for try await frame in inbound {
                    try self.receive(Array(frame.readableBytesView))
                }
            }
            end(with: closedError("the server closed the connection"))
        } catch let error as ClientError {
            end(with: error)
        } catch let error as ProtocolError {
            end(with: ClientError(.protocolViolation, step: step, error.closeReason.message))
        } catch {
            end(with: closedError("the connection failed: \(error)"))
        }
    }

    private var step: ClientError.Step {
        guard phase == .handshaking else { return .session }
        return ClientError.Step(handshake.step)
    }

    private func receive(_ payload: [UInt8]) throws {
        guard phase == .accepted else {
            try receiveDuringHandshake(payload)
            return
        }
        let message: ServerMessage
        do {
            message = try ServerMessage(decoding: try opener?.open(payload) ?? payload)
        } catch let error as ProtocolError where error.closeReason.code == .decryptionFailed {
            throw ClientError(
                .decryptionFailed, step: step,
                "a frame from the server did not authenticate: \(error.closeReason.message)")
        }
        if case .closing(let reason) = message {
            serverCloseReason = reason
            return
        }
        receiveInSession(message)
    }

    /// Hands a handshake frame to the state machine (opened, once there are keys) and carries out
    /// what it returns.
    private func receiveDuringHandshake(_ payload: [UInt8]) throws {
        do {
            if case .awaitingHello = handshake.state {
                let now = Duration.sinceUnixEpoch.wholeMilliseconds
                try perform(try handshake.receiveHello(payload, now: now))
                return
            }
            let opened: [UInt8]
            do {
                opened = try opener?.open(payload) ?? payload
            } catch let error as ProtocolError where error.closeReason.code == .decryptionFailed {
                try handshake.receiveUnopenable(payload)
            }
            try perform(try handshake.receive(try ServerMessage(decoding: opened)))
        } catch let failure as ClientHandshake.Failure {
            throw clientError(for: failure)
        }
    }

    /// Carries out the handshake machine's actions in order.
    private func perform(_ actions: [ClientHandshake.Action]) throws {
        for action in actions {
            switch action {
            case .checkTrust(let fingerprint):
                self.fingerprint = fingerprint
                // Only now, with the certificate checked, may trust on first use record the key.
                let mismatch: String?
                do {
                    mismatch = try credentials.trust.check(fingerprint: fingerprint, endpoint: credentials.endpoint)
                } catch {
                    throw ClientError(
                        .serverKeyMismatch, step: .hello, "could not read or update known hosts: \(error)")
                }
                let secret = credentials.plaintext ? [] : try SecureRandom.bytes(count: SessionKeys.secretByteCount)
                try perform(try handshake.trustDecided(mismatch: mismatch, secret: secret))
            case .sendPlaintext(let payload):
                write(payload)
            case .installKeys(let keys):
                sealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                opener = try RecordOpener(key: keys.serverToClientKey, iv: keys.serverToClientIV)
            case .send(let message):
                send(message)
            case .accepted(let acceptance):
                phase = .accepted
                acceptanceWaiter?.resume(returning: (acceptance, fingerprint))
                acceptanceWaiter = nil
            case .nameRejected(let rejection):
                guard let retryName = credentials.retryName else { try handshake.giveUpName() }
                // The caller may take its time (a person typing): the reader goes on meanwhile,
                // so a `closing` at the server's deadline, or the client's own timeout, still ends
                // the handshake; the answer is then dropped.
                Task { await self.answerRejection(with: await retryName(rejection)) }
            }
        }
    }

    /// Sends the caller's next name after a rejection, or gives up (`nil`).
    private func answerRejection(with name: String?) {
        guard phase == .handshaking, case .awaitingNewName = handshake.state else { return }
        do {
            guard let name else { try handshake.giveUpName() }
            displayName = name
            try perform(try handshake.retryName(name))
        } catch let failure as ClientHandshake.Failure {
            end(with: clientError(for: failure))
        } catch {
            end(with: ClientError(.connectionClosed, step: step, "could not send the name: \(error)"))
        }
    }

    /// The error a handshake failure is reported as.
    private func clientError(for failure: ClientHandshake.Failure) -> ClientError {
        let step = ClientError.Step(failure.step)
        switch failure.kind {
        case .closedByServer(let reason):
            serverCloseReason = reason
            let code: ClientError.Code =
                switch reason.code {
                case .wrongPassword: .wrongPassword
                case .handshakeTimeout: .handshakeTimeout
                case .protocolViolation, .unsupportedVersion: .protocolViolation
                case .decryptionFailed: .decryptionFailed
                case .invalidName: .nameRejected
                default: .rejected
                }
            var error = ClientError(code, step: step, "the server refused: \(reason.message)", closeReason: reason)
            if reason.code == .invalidName {
                error.nameRejection = NameRejection(reason: reason.message, attemptsLeft: 0)
            }
            return error
        case .badCertificate, .untrustedKey:
            return ClientError(.serverKeyMismatch, step: step, failure.message)
        case .decryptionFailed:
            return ClientError(
                .decryptionFailed, step: step,
                "a frame from the server did not authenticate (it could not use the key exchange)")
        case .protocolViolation:
            return ClientError(.protocolViolation, step: step, failure.message)
        case .nameRejected(let rejection):
            var error = ClientError(.nameRejected, step: step, failure.message)
            error.nameRejection = rejection
            return error
        }
    }

    /// Fails the handshake (for example on the client's own timeout) and closes. Does nothing once
    /// the server has accepted the client: a timeout that fires as the acceptance arrives is late.
    func abort(_ error: ClientError) {
        guard phase == .handshaking else { return }
        end(with: error)
    }

    // MARK: Session

    private func receiveInSession(_ message: ServerMessage) {
        switch message {
        case .response(let response):
            guard let waiter = pendingRequests.removeValue(forKey: response.requestID) else { return }
            if response.status == .ok {
                waiter.resume(returning: response.body)
            } else {
                var error = ClientError(
                    .requestFailed, step: .session, "\(response.status): \(response.errorMessage)",
                    responseStatus: response.status)
                // A rate limit's rejection carries the delay as a u32 of milliseconds (§12).
                if response.status == .rejected, response.body.count == 4 {
                    error.retryAfter = .milliseconds(response.body.reduce(0) { $0 << 8 | Int64($1) })
                }
                waiter.resume(throwing: error)
            }
        case .event(let event):
            events.yield(.service(event))
        case .serverName(let name):
            if !nameQueries.isEmpty { nameQueries.removeFirst().resume(returning: name) }
        case .ping(let value):
            send(.pong(value))
        case .pong(let value):
            if let ping = pings.removeValue(forKey: value) {
                ping.waiter.resume(returning: ContinuousClock.now - ping.sent)
            }
        case .serverStopping(let milliseconds):
            events.yield(.serverStopping(gracePeriod: .milliseconds(Int64(milliseconds))))
        case .keyUpdate(let update):
            do {
                try opener?.apply(update)
                if update.requestsUpdate { try updateSendingKey(requestingReply: false) }
            } catch {
                end(
                    with: ClientError(
                        .decryptionFailed, step: .session, "could not apply the server's key update: \(error)"))
            }
        case .passwordPrompt, .namePrompt, .accepted, .closing, .nameRejected:
            break
        }
    }

    /// Sends a key update for our direction and switches to the new key right after it.
    private func updateSendingKey(requestingReply: Bool) throws {
        guard let sealer else { return }
        let update = try KeyUpdate.random(requestsUpdate: requestingReply)
        write(try sealer.seal(ClientMessage.keyUpdate(update).encoded()))
        try sealer.apply(update)
    }

    /// Renews the session keys in both directions.
    func rekey() throws {
        if let failure { throw failure }
        guard sealer != nil else {
            throw ClientError(.rejected, step: .session, "this session is unencrypted; there is no key to renew")
        }
        do {
            try updateSendingKey(requestingReply: true)
        } catch {
            throw ClientError(.connectionClosed, step: .session, "could not renew the key: \(error)")
        }
    }

    func rename(to name: String) async throws {
        if let failure { throw failure }
        let id = nextID
        nextID += 1
        _ = try await withCheckedThrowingContinuation { waiter in
            pendingRequests[id] = waiter
            send(.rename(requestID: id, name: name))
        }
    }

    func request(service: String, body: [UInt8]) async throws -> [UInt8] {
        if let failure { throw failure }
        let id = nextID
        nextID += 1
        return try await withCheckedThrowingContinuation { waiter in
            pendingRequests[id] = waiter
            send(.request(Request(id: id, service: service, body: body)))
        }
    }

    func serverName() async throws -> String {
        if let failure { throw failure }
        return try await withCheckedThrowingContinuation { waiter in
            nameQueries.append(waiter)
            send(.serverNameQuery)
        }
    }

    func ping() async throws -> Duration {
        if let failure { throw failure }
        let value = nextID
        nextID += 1
        return try await withCheckedThrowingContinuation { waiter in
            pings[value] = (.now, waiter)
            send(.ping(value))
        }
    }

    /// Says bye; the server finishes outstanding requests and closes.
    func sayBye() {
        guard failure == nil, phase == .accepted else { return }
        send(.bye)
    }

    // MARK: Plumbing

    private func send(_ message: ClientMessage) {
        do {
            write(try sealer?.seal(message.encoded()) ?? message.encoded())
        } catch {
            end(with: ClientError(.connectionClosed, step: step, "could not seal a frame: \(error)"))
        }
    }

    private func write(_ payload: [UInt8]) {
        channel.writeAndFlush(ByteBuffer.frame(payload, allocator: channel.allocator), promise: nil)
    }

    private func closedError(_ fallback: String) -> ClientError {
        if let reason = serverCloseReason {
            return ClientError(
                .connectionClosed, step: step, "the server closed the session: \(reason)", closeReason: reason)
        }
        return ClientError(.connectionClosed, step: step, fallback)
    }

    private func end(with error: ClientError) {
        guard failure == nil else { return }
        failure = error
        let wasAccepted = phase == .accepted
        phase = .closed
        acceptanceWaiter?.resume(throwing: error)
        acceptanceWaiter = nil
        for waiter in pendingRequests.values { waiter.resume(throwing: error) }
        pendingRequests = [:]
        for waiter in nameQueries { waiter.resume(throwing: error) }
        nameQueries = []
        for ping in pings.values { ping.waiter.resume(throwing: error) }
        pings = [:]
        if wasAccepted { events.yield(.closed(serverCloseReason)) }
        events.finish()
        channel.close(promise: nil)
    }
}

extension ClientError.Step {
    /// The step a handshake failure happened in.
    init(_ step: ClientHandshake.Step) {
        switch step {
        case .hello: self = .hello
        case .keyExchange: self = .keyExchange
        case .password: self = .password
        case .name: self = .name
        }
    }
}
