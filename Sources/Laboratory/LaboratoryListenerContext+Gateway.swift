@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore

/// A gateway's connections are the server's own: the same ``Connection`` (handshake, deadlines,
/// password check, penalties, services, chat rooms), admitted against the same limits as TCP
/// connections, counted by source address together with them. Only the framing differs: the
/// gateway's transport carries one frame per message (see ``GatewayFrameSource`` and
/// ``GatewayFrameWriter``).
extension LaboratoryListenerContext {
    /// The largest frame payload of an accepted session.
    package var maximumFrameSize: Int { environment.maximumFrameSize }

    /// The largest frame payload before the client is accepted.
    package var handshakeFrameSize: Int { min(Frame.maximumHandshakePayloadByteCount, environment.maximumFrameSize) }

    /// How long a closing connection waits for its peer to take the closing frame and close.
    package var closeTimeout: Duration { environment.outbound.closeTimeout }

    /// Runs one connection that arrived through a gateway, exactly as the server runs a TCP
    /// connection, and returns when it has ended.
    ///
    /// - Parameters:
    ///   - source: the peer's IP address, the key for admission limits and penalties.
    ///   - channel: the gateway's underlying connection: its event loop runs the connection's
    ///     timers and writes; closing it ends the connection (a slow consumer, the close timeout).
    ///   - frameLimit: the inbound frame size limit `frames` must enforce; raised to
    ///     ``maximumFrameSize`` when the client is accepted.
    ///   - connections: the gateway's open connections, which its listener drains at shutdown.
    package func serveGatewayConnection(
        source: String, channel: any Channel, frameLimit: FrameSizeLimit, frames: any GatewayFrameSource,
        writer: any GatewayFrameWriter, connections: GatewayConnections
    ) async {
        let ticket: AdmissionTicket
        switch environment.admission.admit(source: source) {
        case .refused(let reason):
            await Self.refuse(writer, on: channel, reason)
            return
        case .admitted(let admitted):
            ticket = admitted
        }
        defer {
            environment.admission.closed(ticket)
            environment.memoryReclaimer.connectionEnded()
        }
        let connection: Connection
        do {
            connection = try Connection(
                channel: channel, transport: .gateway(writer), ticket: ticket, frameLimit: frameLimit,
                environment: environment)
        } catch {
            environment.logger.debug("connection failed", metadata: ["error": .client(describing: error)])
            await Self.refuse(
                writer, on: channel, CloseReason(.internalError, "the server could not start the connection"))
            return
        }
        guard let id = connections.enter(shutDown: { connection.beginShutdown() }) else {
            await Self.refuse(writer, on: channel, CloseReason(.serverStopping, "the server is shutting down"))
            return
        }
        defer { connections.leave(id) }
        environment.admission.onEviction(ticket) {
            [outbound = connection.outbound, wakeup = connection.handshakeWakeup] in
            outbound.close($0)
            wakeup.ring()
        }
        _ = await connection.run(GatewayInboundFrames(frames))
    }

    /// Tells a refused client why (instead of the hello) and ends the gateway's sending side;
    /// returns once the gateway has taken both.
    private static func refuse(_ writer: any GatewayFrameWriter, on channel: any Channel, _ reason: CloseReason) async {
        let frame = ByteBuffer.frame(ServerMessage.closing(reason).encoded(), allocator: channel.allocator)
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute { writer.write([frame], written: written) }
        try? await written.futureResult.get()
        writer.finish(after: reason)
    }
}
