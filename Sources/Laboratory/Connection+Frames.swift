@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore

extension Connection {
    /// What an inbound frame asks the reader to do.
    enum Inbound {
        case request(ServiceRequest)
        case rename(requestID: UInt64, oldName: String)
        case close(CloseReason)
    }

    /// Handles one inbound frame: the key exchange, a handshake message, or a session message.
    /// Not inlined into the readers: its locals stay off their async frames, which an idle session
    /// keeps.
    @inline(never)
    func receive(_ frame: InboundFrame) throws -> Inbound? {
        // A timer has ended the session (the channel is closing): nothing more is processed.
        if let failure = outbound.failure { return .close(failure) }
        let plaintext: ByteBuffer
        switch frame {
        case .opened(let opened):
            // Counted and opened by the event loop already.
            plaintext = opened
        case .sealed(let frame):
            receiver.count(frame)
            if handshake.expectsKeyExchange {
                return perform(try handshake.receiveKeyExchange(Array(frame.readableBytesView)))
            }
            plaintext = try receiver.open(frame, allocator: channel.allocator)
        }
        // A request's body stays in the buffer the frame was opened into: the service gets a
        // slice of it, not a copy.
        if identity != nil, let request = try plaintext.withUnsafeReadableBytes({ try RequestHead.decode($0) }) {
            let body = plaintext.getSlice(
                at: plaintext.readerIndex + request.body.lowerBound, length: request.body.count)!
            return admit(ServiceRequest(head: request.head, body: body))
        }
        let message = try ClientMessage(decoding: Array(plaintext.readableBytesView))
        guard identity != nil else { return perform(try handshake.receive(message)) }
        switch message {
        case .request(let request):
            // Not reached: a request is recognised from its first byte before this decode.
            return admit(
                ServiceRequest(
                    head: RequestHead(id: request.id, service: request.service), body: ByteBuffer(bytes: request.body)))
        case .rename(let requestID, let name):
            return try rename(requestID: requestID, to: name)
        case .keyUpdate(let update):
            try receiver.opener?.apply(update)
            receiver.hasRequestedClientRekey = false
            if update.requestsUpdate { outbound.updateKeys(requestingReply: false) }
        case .serverNameQuery:
            send(.serverName(environment.handshake.serverName))
        case .ping(let value):
            send(.pong(value))
        case .pong:
            break
        case .bye:
            return .close(CloseReason(.normal, "goodbye"))
        case .password, .name:
            throw ProtocolError.unexpected(message.kind, in: "accepted")
        }
        return nil
    }

    /// Counts a request against the session's limit of outstanding requests: returns it to be
    /// served, or answers `rejected` at once.
    private func admit(_ request: ServiceRequest) -> Inbound? {
        guard outstandingRequests < environment.maximumOutstandingRequests else {
            let limit = environment.maximumOutstandingRequests
            environment.metrics.requestAnswered(service: request.service, status: .rejected, after: .zero)
            send(
                .response(
                    Response(
                        requestID: request.id, status: .rejected,
                        errorMessage: "too many outstanding requests (the limit is \(limit))")))
            return nil
        }
        outstandingRequests += 1
        return .request(request)
    }

    /// Validates and applies a new display name; the reader then tells the services.
    private func rename(requestID: UInt64, to name: String) throws -> Inbound? {
        guard let oldName = identity?.displayName else { return nil }
        let newName: String
        do {
            newName = try DisplayName.validate(name)
        } catch let error as ProtocolError {
            send(.response(Response(requestID: requestID, status: .rejected, errorMessage: error.closeReason.message)))
            return nil
        }
        identity?.displayName = newName
        environment.sessions.rename(id, to: newName)
        record(.renamed(from: oldName, to: newName))
        return .rename(requestID: requestID, oldName: oldName)
    }

    /// Carries out the handshake's actions in order; returns a close if one of them is a close.
    func perform(_ actions: [ServerHandshake<AnyTimerClock>.Action]) -> Inbound? {
        var result: Inbound?
        for action in actions {
            switch action {
            case .sendPlaintext(let payload):
                outbound.sendPlaintext(payload)
            case .installKeys(let keys):
                do {
                    try outbound.installKey(keys.serverToClientKey, iv: keys.serverToClientIV)
                    receiver.opener = try RecordOpener(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                } catch {
                    logger.error("could not set up the session cipher", metadata: ["error": .client(describing: error)])
                    return .close(CloseReason(.internalError, "the server could not set up encryption"))
                }
            case .usePlaintext:
                logger.debug("plaintext session: this client chose no encryption", metadata: ["cipher": "none"])
            case .send(let message):
                if case .nameRejected(let rejection) = message { record(.nameRejected(rejection)) }
                send(message)
                // Automatic key renewal only from `accepted` on: the protocol allows no key update
                // before it (and `accept` comes before it, see below).
                if case .accepted = message { outbound.startRenewingKeys() }
            case .setDeadline(let deadline):
                timers.setHandshakeDeadline(deadline)
            case .accept(let displayName):
                // Before `accepted` goes out: the client may send a session-sized frame once it has it.
                frameLimit.raise(to: environment.maximumFrameSize)
                InboundReads.useSessionReads(on: channel)
                identity = SessionIdentity(connectionID: id, remoteAddress: remoteAddress, displayName: displayName)
                environment.admission.authenticated(ticket)
                environment.sessions.add(
                    id: id, displayName: displayName, remoteAddress: remoteAddress, counters: outbound.counters
                ) { [outbound] in outbound.close($0) }
                timers.accepted()
                // The watcher has nothing more to watch.
                handshakeWakeup.ring()
                environment.metrics.handshakeEnded(closing: nil, after: .now - ticket.admitted)
                environment.metrics.sessionsOpen.increment()
                record(.accepted(name: displayName))
            case .close(let reason):
                result = .close(reason)
            }
        }
        return result
    }

    /// Seals (once keys are installed) and writes one message.
    func send(_ message: ServerMessage) {
        outbound.send(message)
    }

    /// Serves one request and sends its response, sealed from the body where the service left it.
    func serve(_ request: ServiceRequest) async {
        defer { outstandingRequests -= 1 }
        guard let identity else { return }
        let started = ContinuousClock.now
        let context = receiver.requestContexts(for: identity).context(for: request.service, session: identity)
        let (head, body) = await environment.registry.respond(
            to: request.head, body: .buffer(request.body), context: context)
        environment.metrics.requestAnswered(service: request.service, status: head.status, after: .now - started)
        outbound.send(head, body: body)
    }

    /// Tells the services about a rename, then confirms it to the client.
    func finishRename(requestID: UInt64, oldName: String) async {
        guard let identity else { return }
        await environment.registry.sessionDidRename(identity, from: oldName)
        send(.response(Response(requestID: requestID, status: .ok)))
    }
}
