@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// One connection from an original-prototype client: PKCS#1 PEM key out, PKCS#1 v1.5 key in,
/// then `\0`-terminated messages through the transform. Once accepted, the client reaches the
/// same services as v1 clients (see `LegacyConnection+Session.swift`).
actor LegacyConnection {
    enum Phase {
        case awaitingKey(buffer: [UInt8])
        case awaitingPassword
        case awaitingName
        case accepted
    }

    let id: UInt64
    let source: String
    /// The connection's place in the admission counts.
    let ticket: AdmissionTicket
    let environment: ConnectionEnvironment
    let legacy: LegacyConfiguration
    let writer: LegacyWriter
    var logger: Logger
    var phase: Phase = .awaitingKey(buffer: [])
    /// Held only until the key arrives.
    var transportKey: RSAPrivateKey?
    var decoder: (any LegacyCodec)?
    var splitter: LegacyMessageSplitter
    var deadline: ContinuousClock.Instant?
    var identity: SessionIdentity?
    /// The chat room plain lines go to: the last one joined.
    var room: String?

    init(channel: any Channel, ticket: AdmissionTicket, environment: ConnectionEnvironment, legacy: LegacyConfiguration)
    {
        self.id = environment.connectionIDs.make()
        self.source = ticket.source.description
        self.ticket = ticket
        self.environment = environment
        self.legacy = legacy
        self.writer = LegacyWriter(channel: channel, maximumQueuedBytes: 1 << 20)
        self.splitter = LegacyMessageSplitter(maximumMessageBytes: legacy.maximumMessageBytes)
        var logger = environment.logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "legacy"] = "true"
        logger[metadataKey: "peer"] = "\(source)"
        self.logger = logger
        self.transportKey = environment.transportKeys.offer().privateKey
    }

    /// Runs the connection; returns whether the client was accepted.
    func run(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async -> Bool {
        do {
            writer.sendRaw(Array(try transportKey!.publicKey.legacyPKCS1PEM.utf8))
        } catch {
            logger.error("could not encode the legacy public key", metadata: ["error": "\(error)"])
            return false
        }
        deadline = .now.advanced(by: legacy.stepTimeout)
        let reason =
            await firstCloseReason(
                { await self.read(inbound) }, { await self.watchDeadline() }, { await self.watchShutdown() })
            ?? CloseReason(.peerClosed, "the connection ended")
        await finish(reason)
        return identity != nil
    }

    private func read(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async -> CloseReason {
        do {
            for try await chunk in inbound {
                if let reason = try await receive(Array(chunk.readableBytesView)) { return reason }
            }
            return CloseReason(.peerClosed, "the client closed the connection")
        } catch let error as ProtocolError {
            return error.closeReason
        } catch {
            return CloseReason(.peerClosed, "the connection failed: \(error)")
        }
    }

    private func receive(_ bytes: [UInt8]) async throws -> CloseReason? {
        guard case .awaitingKey(var buffer) = phase else { return try await receiveMessages(bytes) }
        buffer.append(contentsOf: bytes)
        guard let key = transportKey, buffer.count >= key.publicKey.ciphertextByteCount else {
            phase = .awaitingKey(buffer: buffer)
            return nil
        }
        let size = key.publicKey.ciphertextByteCount
        // As in v1, a key that does not decrypt is not reported: carry on with a random one.
        let fallback = try SecureRandom.bytes(count: 16)
        let symmetricKey = (try? key.legacyDecryptPKCS1v15(Array(buffer.prefix(size)))) ?? fallback
        transportKey = nil
        decoder = legacy.transform.makeCodec(key: symmetricKey)
        writer.install(legacy.transform, key: symmetricKey)
        if symmetricKey.isEmpty { logger.notice("legacy client uses no key (the prototype's plaintext)") }
        phase = .awaitingPassword
        writer.send("PASSWORD ?")
        deadline = .now.advanced(by: legacy.stepTimeout)
        return try await receiveMessages(Array(buffer.dropFirst(size)))
    }

    private func receiveMessages(_ bytes: [UInt8]) async throws -> CloseReason? {
        guard !bytes.isEmpty, decoder != nil else { return nil }
        let decoded = decoder!.decode(bytes)
        for message in try splitter.append(decoded) {
            if let reason = try await handle(message) { return reason }
        }
        return nil
    }

    private func handle(_ message: String) async throws -> CloseReason? {
        switch phase {
        case .awaitingKey:
            return nil
        case .awaitingPassword:
            let given = SHA256.hash(Array(message.utf8))
            guard constantTimeEquals(given, environment.handshake.passwordDigest) else {
                return CloseReason(.wrongPassword, "wrong password")
            }
            phase = .awaitingName
            writer.send("NAME ?")
            deadline = .now.advanced(by: legacy.stepTimeout)
        case .awaitingName:
            let name: String
            do {
                name = try DisplayName.validate(message)
            } catch let error as ProtocolError {
                return error.closeReason
            }
            identity = SessionIdentity(connectionID: id, remoteAddress: source, displayName: name)
            phase = .accepted
            deadline = nil
            environment.admission.authenticated(ticket)
            logger.info("legacy client accepted", metadata: ["name": "\(name)"])
            writer.send("ACCEPTED")
        case .accepted:
            await serve(message)
        }
        return nil
    }

    private func watchDeadline() async -> CloseReason? {
        while let current = deadline {
            do {
                try await Task.sleep(until: current, clock: .continuous)
            } catch {
                return nil
            }
            if deadline == current { return CloseReason(.handshakeTimeout, "legacy handshake step timed out") }
        }
        return nil
    }

    /// On graceful shutdown, tells the client as the prototype did (`STOP SERVER`) and closes.
    private func watchShutdown() async -> CloseReason? {
        do {
            try await gracefulShutdown()
        } catch {
            return nil
        }
        writer.send("STOP SERVER")
        return CloseReason(.serverStopping, "the server is shutting down")
    }

    private func finish(_ reason: CloseReason) async {
        environment.admission.penalize(ticket, for: reason, wasAuthenticated: identity != nil)
        if reason.code == .wrongPassword { try? await Task.sleep(for: environment.wrongPasswordDelay) }
        writer.close()
        logger.info("legacy connection closed", metadata: ["reason": "\(reason)"])
        if let identity { await environment.registry.sessionDidEnd(identity) }
    }
}
