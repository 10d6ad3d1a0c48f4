import Laboratory
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
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
    let context: LaboratoryListenerContext
    let configuration: LegacyConfiguration
    let writer: LegacyWriter
    var logger: Logger
    var phase: Phase = .awaitingKey(buffer: [])
    /// Held only until the key arrives.
    var transportKey: RSAPrivateKey?
    var decoder: (any LegacyCodec)?
    var splitter: LegacyMessageSplitter
    var deadline: AnyTimerClock.Instant?
    var identity: SessionIdentity?
    /// The chat room plain lines go to: the last one joined.
    var room: String?

    init(
        channel: any Channel, ticket: AdmissionTicket, context: LaboratoryListenerContext,
        configuration: LegacyConfiguration
    ) {
        self.id = context.makeConnectionID()
        self.source = ticket.remoteAddress
        self.ticket = ticket
        self.context = context
        self.configuration = configuration
        self.writer = LegacyWriter(channel: channel, maximumQueuedBytes: 1 << 20)
        self.splitter = LegacyMessageSplitter(maximumMessageBytes: configuration.maximumMessageBytes)
        var logger = context.logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "legacy"] = "true"
        logger[metadataKey: "peer"] = "\(source)"
        self.logger = logger
        self.transportKey = context.offerTransportKey()
    }

    /// Runs the connection; returns whether the client was accepted.
    func run(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async -> Bool {
        do {
            guard let transportKey else { return false }
            writer.sendRaw(Array(try transportKey.publicKey.legacyPKCS1PEM.utf8))
        } catch {
            logger.error("could not encode the legacy public key", metadata: ["error": .client(describing: error)])
            return false
        }
        deadline = context.clock.now.advanced(by: configuration.stepTimeout)
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
        let symmetricKey = (try? key.decryptPKCS1v15(Array(buffer.prefix(size)))) ?? fallback
        transportKey = nil
        decoder = configuration.transform.makeCodec(key: symmetricKey)
        writer.install(configuration.transform, key: symmetricKey)
        if symmetricKey.isEmpty { logger.debug("legacy client uses no key (the prototype's plaintext)") }
        phase = .awaitingPassword
        writer.send("PASSWORD ?")
        deadline = context.clock.now.advanced(by: configuration.stepTimeout)
        return try await receiveMessages(Array(buffer.dropFirst(size)))
    }

    private func receiveMessages(_ bytes: [UInt8]) async throws -> CloseReason? {
        guard !bytes.isEmpty, var codec = decoder else { return nil }
        let decoded = codec.decode(bytes)
        decoder = codec
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
            guard context.isServerPassword(message) else {
                return CloseReason(.wrongPassword, "wrong password")
            }
            phase = .awaitingName
            writer.send("NAME ?")
            deadline = context.clock.now.advanced(by: configuration.stepTimeout)
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
            context.authenticated(ticket)
            logger.debug("legacy client accepted", metadata: ["name": .client(name)])
            writer.send("ACCEPTED")
        case .accepted:
            await serve(message)
        }
        return nil
    }

    private func watchDeadline() async -> CloseReason? {
        while let current = deadline {
            do {
                try await context.clock.sleep(until: current, tolerance: nil)
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
        context.penalize(ticket, for: reason, wasAuthenticated: identity != nil)
        if reason.code == .wrongPassword { try? await context.clock.sleep(for: context.wrongPasswordDelay) }
        writer.close()
        var metadata: Logger.Metadata = [
            "reason": .client(describing: reason), "duration": "\((ContinuousClock.now - ticket.admitted).logged)",
        ]
        if let identity { metadata["name"] = .client(identity.displayName) }
        logger.debug("legacy connection closed", metadata: metadata)
        if let identity { await context.services.sessionDidEnd(identity) }
    }
}
