import LaboratoryCrypto
import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore
import ServiceLifecycle

/// One client connection: owns the cipher state, drives the handshake state machine, and serves
/// requests once the client is accepted.
///
/// Three child tasks race: the frame reader, the deadline watchdog and the shutdown watcher. The
/// first to produce a ``CloseReason`` wins and the others are cancelled, so a deadline is
/// enforced by cancelling the read that is waiting for a slow client.
actor Connection {
    let id: UInt64
    nonisolated let channel: any Channel
    let environment: ConnectionEnvironment
    let remoteAddress: String?
    /// The peer's IP address, the key for admission limits and penalties.
    let source: String
    var logger: Logger
    var handshake: ServerHandshake<ContinuousClock>
    /// Seals and writes; shared with the event sinks services hold.
    let outbound: Outbound
    var opener: RecordOpener?
    /// The current handshake step's deadline; `nil` once accepted.
    var deadline: ContinuousClock.Instant?
    /// Set when the handshake accepts the client.
    var identity: SessionIdentity?
    var outstandingRequests = 0
    /// Whether the server has asked the client to renew its key since the client last did.
    var hasRequestedClientRekey = false
    /// Fired when the handshake accepts the client; starts the idle watcher.
    let accepted = OneShotSignal()
    /// When the last frame arrived; drives keepalive pings and the idle timeout.
    var lastInbound = ContinuousClock.now
    /// Whether a keepalive ping is waiting for any frame in return.
    var keepalivePending = false
    /// The connection's logger with each requested service's name attached, built once per service
    /// (see `serviceLogger(for:)`).
    var serviceLoggers: [String: Logger] = [:]

    init(channel: any Channel, source: String, environment: ConnectionEnvironment) throws {
        let id = environment.connectionIDs.make()
        self.id = id
        self.source = source
        self.channel = channel
        self.environment = environment
        self.remoteAddress = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }
        var logger = environment.logger
        logger[metadataKey: "connection"] = "\(id)"
        if let remoteAddress { logger[metadataKey: "peer"] = "\(remoteAddress)" }
        self.logger = logger
        self.outbound = Outbound(channel: channel, limits: environment.outbound)
        self.handshake = ServerHandshake(
            configuration: environment.handshake, transportKey: environment.transportKeys.offer(), connectionID: id,
            serverRandom: try SecureRandom.bytes(count: ServerHello.randomByteCount), clock: ContinuousClock())
    }

    /// Runs the connection until it ends, then sends the close reason if the peer can read it.
    /// Returns whether the client was accepted.
    func run(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async -> Bool {
        logger.debug("connected")
        _ = perform(handshake.start())
        let reason = await firstCloseReason(
            { await self.readFrames(inbound) }, { await self.watchDeadlines() }, { await self.watchShutdown() },
            { await self.watchIdle() })
        await finish(reason)
        return identity != nil
    }

    /// Reads frames until the peer closes, a message ends the session, or the task is cancelled.
    private func readFrames(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async -> CloseReason {
        do {
            return try await withThrowingDiscardingTaskGroup(returning: CloseReason.self) { group in
                for try await frame in inbound {
                    switch try receive(frame) {
                    case nil:
                        continue
                    case .request(let request):
                        group.addTask { await self.serve(request) }
                    case .rename(let requestID, let oldName):
                        await finishRename(requestID: requestID, oldName: oldName)
                    case .accepted:
                        accepted.fire()
                    case .close(let reason):
                        if reason.code != .normal { group.cancelAll() }
                        return reason
                    }
                }
                return CloseReason(.peerClosed, "the client closed the connection")
            }
        } catch let error as ProtocolError {
            return error.closeReason
        } catch {
            return CloseReason(.peerClosed, "the connection failed: \(error)")
        }
    }

    /// Enforces the handshake's deadlines, then keepalive and the idle timeout once accepted.
    /// Returns the reason to close, or `nil` when there is nothing left to watch.
    private func watchDeadlines() async -> CloseReason? {
        while identity == nil {
            guard let current = deadline else { return nil }
            do {
                try await Task.sleep(until: current, clock: .continuous)
            } catch {
                return nil
            }
            guard deadline == current, identity == nil else { continue }
            // The state machine decides; if it has no close (it failed already), stop watching.
            if case .close(let reason)? = perform(handshake.deadlineExpired()) { return reason }
            return nil
        }
        return nil
    }

    /// Once the client is accepted, pings it when it has been quiet for the keepalive interval
    /// and ends the session when it has been silent for the idle timeout.
    private func watchIdle() async -> CloseReason? {
        await accepted.wait()
        guard !Task.isCancelled, let keepalive = environment.keepaliveInterval ?? environment.idleTimeout else {
            return nil
        }
        while true {
            let quiet = ContinuousClock.now - lastInbound
            if let timeout = environment.idleTimeout, quiet >= timeout {
                return CloseReason(.idleTimeout, "nothing received for \(timeout)")
            }
            var wake = lastInbound.advanced(by: keepalive)
            if environment.keepaliveInterval != nil, quiet >= keepalive {
                if !keepalivePending {
                    keepalivePending = true
                    send(.ping(UInt64(truncatingIfNeeded: lastInbound.hashValue)))
                }
                guard let timeout = environment.idleTimeout else { return nil }
                wake = lastInbound.advanced(by: timeout)
            }
            do {
                try await Task.sleep(until: wake, clock: .continuous)
            } catch {
                return nil
            }
        }
    }

    /// Waits for the server's graceful shutdown, announces it to an accepted client, and ends the
    /// session when the grace period is over. Unaccepted connections end at once.
    private func watchShutdown() async -> CloseReason? {
        do {
            try await gracefulShutdown()
        } catch {
            return nil
        }
        guard identity != nil else {
            return CloseReason(.serverStopping, "the server is shutting down")
        }
        let grace = environment.shutdownGracePeriod
        let milliseconds = grace.components.seconds * 1000 + grace.components.attoseconds / 1_000_000_000_000_000
        send(.serverStopping(graceMilliseconds: UInt32(clamping: milliseconds)))
        do {
            try await Task.sleep(for: grace)
        } catch {
            return nil
        }
        return CloseReason(.serverStopping, "the server is shutting down and the grace period is over")
    }

    private func finish(_ reason: CloseReason) async {
        // A failure on the sending side (a slow consumer) is the real reason the reader stopped.
        let reason = outbound.failure ?? reason
        environment.admission.penalize(source: source, for: reason, wasAuthenticated: identity != nil)
        if reason.code == .wrongPassword {
            // Make password guessing slow: the rejection waits, the connection stays counted.
            try? await Task.sleep(for: environment.wrongPasswordDelay)
        }
        if reason.code != .peerClosed { send(.closing(reason)) }
        outbound.finish(reason)
        var metadata: Logger.Metadata = ["reason": "\(reason)", "step": "\(handshake.stepName)"]
        if let identity { metadata["name"] = "\(identity.displayName)" }
        switch reason.code {
        case .normal, .peerClosed, .serverStopping: logger.info("connection closed", metadata: metadata)
        default: logger.notice("connection closed", metadata: metadata)
        }
        if let identity { await environment.registry.sessionDidEnd(identity) }
    }
}
