import LaboratoryProtocol
import LaboratoryTransport
import NIOCore

extension Connection {
    /// What an inbound frame asks the reader to do.
    enum Inbound {
        case request(Request)
        case close(CloseReason)
    }

    /// Handles one inbound frame: the key exchange, a handshake message, or a session message.
    func receive(_ frame: ByteBuffer) throws -> Inbound? {
        let bytes = Array(frame.readableBytesView)
        if handshake.expectsKeyExchange {
            return perform(try handshake.receiveKeyExchange(bytes))
        }
        let message = try ClientMessage(decoding: try opener?.open(bytes) ?? bytes)
        guard identity != nil else { return perform(try handshake.receive(message)) }
        switch message {
        case .request(let request):
            guard outstandingRequests < environment.maximumOutstandingRequests else {
                send(
                    .response(
                        Response(
                            requestID: request.id, status: .rejected,
                            errorMessage:
                                "too many outstanding requests (the limit is \(environment.maximumOutstandingRequests))"
                        )))
                return nil
            }
            outstandingRequests += 1
            return .request(request)
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

    /// Carries out the handshake's actions in order; returns a close if one of them is a close.
    func perform(_ actions: [ServerHandshake<ContinuousClock>.Action]) -> Inbound? {
        var result: Inbound?
        for action in actions {
            switch action {
            case .sendPlaintext(let payload):
                write(payload)
            case .installKeys(let keys):
                do {
                    sealer = try RecordSealer(key: keys.serverToClientKey, iv: keys.serverToClientIV)
                    opener = try RecordOpener(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                } catch {
                    logger.error("could not set up the session cipher", metadata: ["error": "\(error)"])
                    return .close(CloseReason(.internalError, "the server could not set up encryption"))
                }
            case .usePlaintext:
                isPlaintext = true
                logger.warning("PLAINTEXT SESSION: this client chose no encryption")
            case .send(let message):
                send(message)
            case .setDeadline(let newDeadline):
                deadline = newDeadline
            case .accept(let displayName):
                identity = SessionIdentity(connectionID: id, remoteAddress: remoteAddress, displayName: displayName)
                logger.info("accepted", metadata: ["name": "\(displayName)"])
            case .close(let reason):
                result = .close(reason)
            }
        }
        return result
    }

    /// Seals (once keys are installed) and writes one message.
    func send(_ message: ServerMessage) {
        let payload = message.encoded()
        guard let sealer else {
            write(payload)
            return
        }
        do {
            write(try sealer.seal(payload))
        } catch {
            logger.error("sealing failed; closing", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }

    /// Writes one frame. Calls made from the actor reach the event loop in the order they were
    /// made, so frames leave in counter order.
    private func write(_ payload: [UInt8]) {
        channel.writeAndFlush(ByteBuffer.frame(payload, allocator: channel.allocator), promise: nil)
    }

    /// Serves one request and sends its response.
    func serve(_ request: Request) async {
        defer { outstandingRequests -= 1 }
        guard let identity else { return }
        var logger = self.logger
        logger[metadataKey: "service"] = "\(request.service)"
        let context = ServiceContext(session: identity, logger: logger, serviceName: request.service) {
            [self] event in try await self.push(event)
        }
        let response = await environment.registry.respond(to: request, context: context)
        send(.response(response))
    }

    /// Sends a service event to this session.
    func push(_ event: ServiceEvent) throws {
        guard !isFinished else { throw ServiceError.sessionEnded }
        send(.event(event))
    }
}
