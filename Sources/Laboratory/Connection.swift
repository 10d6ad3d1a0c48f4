@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore
import ServiceLifecycle

/// One client connection: owns the cipher state, drives the handshake state machine, and serves
/// requests once the client is accepted.
///
/// Every deadline and timer but the closing flush's (``Outbound``'s own) is one of its
/// ``ConnectionTimers``, on the server's clock: the
/// handshake's deadlines are armed by the state machine's `.setDeadline` actions like any other
/// action, and the session's clocks (keepalive, the idle timeout, the shutdown grace period) start
/// at acceptance. Until the client is accepted, two child tasks race: the handshake reader and the
/// watcher that a passed deadline (or an eviction, or a shutdown) wakes to ask the state machine
/// what it means. The first to produce a ``CloseReason`` wins and the other is cancelled, so a
/// deadline is enforced by cancelling the read that is waiting for a slow client. At acceptance
/// both end and the connection's own task reads the session's frames, so an idle session holds no
/// task but its own, and no task group: requests are child tasks of a group that the reader
/// leaves when the session goes quiet. A timer that ends the session sends the reason and closes the channel,
/// which ends the read; requests in flight are then cancelled.
actor Connection {
    let id: UInt64
    nonisolated let channel: any Channel
    let environment: ConnectionEnvironment
    let remoteAddress: String?
    /// The connection's place in the admission counts: its source address (the key for limits
    /// and penalties) and when it was admitted.
    let ticket: AdmissionTicket
    var handshake: ServerHandshake<AnyTimerClock>
    /// Seals and writes; shared with the event sinks services hold.
    let outbound: Outbound
    /// Opens inbound frames; once the session is accepted, also answers immediate requests on the
    /// channel's event loop while the reader waits with nothing in flight.
    nonisolated let receiver: SessionReceiver
    /// Wakes the handshake watcher when a deadline passes, at acceptance, an eviction or a shutdown.
    let handshakeWakeup: Wakeup
    /// The inbound frame size limit: the handshake's until acceptance, then the session's.
    let frameLimit: FrameSizeLimit
    /// The handshake's deadlines; keepalive, the idle timeout and the shutdown grace period.
    let timers: ConnectionTimers
    /// Set when the handshake accepts the client. Kept in ``receiver``, which the event loop reads
    /// it from while it answers immediate requests.
    var identity: SessionIdentity? {
        get { receiver.identity }
        set { receiver.identity = newValue }
    }
    var outstandingRequests = 0

    init(
        channel: any Channel, transport: FrameTransport = .socket, ticket: AdmissionTicket,
        frameLimit: FrameSizeLimit, environment: ConnectionEnvironment
    ) throws {
        let id = environment.connectionIDs.make()
        self.id = id
        self.ticket = ticket
        self.channel = channel
        self.environment = environment
        self.frameLimit = frameLimit
        self.remoteAddress = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }
        self.outbound = Outbound(
            channel: channel, transport: transport, limits: environment.outbound, clock: environment.clock,
            metrics: environment.metrics)
        let handshakeWakeup = Wakeup()
        self.handshakeWakeup = handshakeWakeup
        self.timers = ConnectionTimers(
            outbound: outbound, clock: environment.clock, keepaliveInterval: environment.keepaliveInterval,
            idleTimeout: environment.idleTimeout, shutdownGracePeriod: environment.shutdownGracePeriod,
            handshakeDeadlinePassed: { handshakeWakeup.ring() })
        self.receiver = SessionReceiver(outbound: outbound, timers: timers, environment: environment)
        self.handshake = ServerHandshake(
            configuration: environment.currentHandshake, transportKey: environment.transportKeys.offer(),
            connectionID: id,
            serverRandom: try SecureRandom.bytes(count: ServerHello.randomByteCount), clock: environment.clock)
    }

    /// The connection's logger: the server's, with the connection's id and peer attached. Built
    /// when something is logged rather than kept: its metadata (a dictionary, the log handler's
    /// box and its rendered text) cost every idle session about half a KiB.
    var logger: Logger {
        .connection(id, remoteAddress: remoteAddress, of: environment.logger)
    }

    /// Logs `event` through ``logger`` if the server's log level lets it through (the logger is
    /// built only then).
    func record(_ event: OperatorEvent) {
        guard environment.logger.logLevel <= event.level else { return }
        logger.record(event)
    }

    /// Runs the connection over `frames` (a TCP channel's, or a gateway's) until it ends, then
    /// sends the close reason if the peer can read it. Returns whether the client was accepted.
    func run<Frames: InboundFrameSource>(_ frames: Frames) async -> Bool {
        record(.connected)
        _ = perform(handshake.start())
        let reason = await withGracefulShutdownHandler {
            // Until acceptance the reader races the deadline watcher; then this task reads on alone.
            let handshakeEnd = await firstCloseReason(
                { await self.readHandshake(frames) }, { await self.watchHandshakeDeadlines() })
            if let handshakeEnd { return handshakeEnd }
            return await self.readSession(frames)
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        timers.cancelAll()
        await finish(reason)
        await awaitPeerClose(frames)
        return identity != nil
    }

    /// The server is shutting down: an accepted session is told and gets the grace period, an
    /// unfinished handshake is closed. For gateways, whose tasks do not see the server's graceful
    /// shutdown, this is also called by the gateway.
    nonisolated func beginShutdown() {
        timers.shutDown()
        // A handshake that is not reading (a wrong password's delay) learns of it from the
        // watcher, which sees the closing reason as soon as it wakes.
        handshakeWakeup.ring()
    }

    /// After the closing frame: reads and drops whatever the peer still sends until it closes its
    /// side (it has then read the closing frame, which went out before the FIN), or until the close
    /// timeout closes the channel. Only then may the socket be closed: closing it with unread input
    /// makes the kernel send a reset, which can destroy the closing frame in the peer's receive
    /// buffer before the peer has read it.
    private func awaitPeerClose<Frames: InboundFrameSource>(_ frames: Frames) async {
        outbound.closeAfterTimeout()
        do {
            while try await frames.next() != nil {}
        } catch {}
        // A gateway's frames end when its peer has closed; its connection closes after this one.
        if Frames.isGateway { return }
        // The stream may have ended without the channel closing (the watcher cancelled the read).
        try? await channel.closeFuture.get()
    }

    /// Reads handshake frames until the client is accepted (then returns `nil`), the handshake
    /// ends it, the peer closes, or the watcher cancels the read.
    private func readHandshake<Frames: InboundFrameSource>(_ frames: Frames) async -> CloseReason? {
        do {
            while identity == nil {
                // While a wrong password waits out its delay nothing more is read: the watcher
                // ends the connection at the delay's end, its deadline, or a shutdown.
                guard handshake.readsFrames else { return nil }
                guard let frame = try await frames.next() else { return streamEnded() }
                switch try receive(frame) {
                case nil, .request, .rename:
                    // Requests and renames are only ever returned once the client is accepted.
                    continue
                case .close(let reason):
                    return reason
                }
            }
            return nil
        } catch {
            return closeReason(for: error)
        }
    }

    /// Reads an accepted session's frames until the peer closes, a message ends the session, or a
    /// timer closes the channel (the idle timeout, the end of the shutdown grace period).
    ///
    /// While no request is in flight the reader waits for the next frame outside any task group,
    /// so an idle session's task holds nothing but this loop's frames (a discarding task group and
    /// its body's frame cost an idle session about 1.3 KiB). A request opens a group for the
    /// requests served as its child tasks (see `serveRequests`), which the reader leaves when the
    /// session goes quiet.
    @inline(never)
    private func readSession<Frames: InboundFrameSource>(_ frames: Frames) async -> CloseReason {
        do {
            // With an immediate service registered, the channel's event loop answers requests for
            // it while this reader waits here with nothing in flight (see `SessionReceiver`).
            let servesImmediately = environment.registry.servesImmediately
            while let frame = try await servesImmediately ? frames.next(servingImmediately: receiver) : frames.next() {
                switch try receive(frame) {
                case nil:
                    continue
                case .request(let request):
                    if let reason = try await serveRequests(startingWith: request, frames) { return reason }
                case .rename(let requestID, let oldName):
                    await finishRename(requestID: requestID, oldName: oldName)
                case .close(let reason):
                    return reason
                }
            }
            return streamEnded()
        } catch {
            return closeReason(for: error)
        }
    }

    /// Serves `first` and the requests that follow it, each as a child task, reading frames
    /// meanwhile. Returns `nil` when a frame that is not a request (a keepalive's pong, a key
    /// update) arrives while no request is in flight: the session has gone quiet, and the reader
    /// leaves the group (it has no child left to wait for). Whenever it waits in the group with no
    /// request in flight, the event loop may answer immediate requests meanwhile, as it does while
    /// the reader waits outside. Otherwise returns the reason the
    /// session ended; children are cancelled when it ends abnormally. Staying in the group while
    /// requests keep coming spares each request a group of its own (entering and leaving one per
    /// request cost 4.4 k instructions of a 76.6 k echo round trip under callgrind); an idle
    /// session that made requests sheds the group at its first keepalive round. Not inlined: its
    /// frame exists only while the session is busy.
    @inline(never)
    private func serveRequests<Frames: InboundFrameSource>(
        startingWith first: ServiceRequest, _ frames: Frames
    ) async throws -> CloseReason? {
        let servesImmediately = environment.registry.servesImmediately
        return try await withThrowingDiscardingTaskGroup(returning: CloseReason?.self) { group in
            var next: ServiceRequest? = first
            while true {
                if let request = next {
                    next = nil
                    // Started at once on this actor: a request that never suspends (Echo) is
                    // answered before the next frame is read, without a task switch.
                    if #available(macOS 26.0, *) {
                        group.addImmediateTask { await self.serve(request) }
                    } else {
                        group.addTask { await self.serve(request) }
                    }
                }
                // With nothing in flight the event loop may answer immediate requests again, as
                // in `readSession`: a busy session whose request reached this task (it was read
                // before the reader waited, or an `async` request was in flight) goes back to the
                // loop without waiting for a quiet moment that a steady stream never has.
                let idle = servesImmediately && outstandingRequests == 0
                guard let frame = try await idle ? frames.next(servingImmediately: receiver) : frames.next() else {
                    let reason = streamEnded()
                    if reason.code != .peerClosed { group.cancelAll() }
                    return reason
                }
                switch try receive(frame) {
                case nil:
                    if outstandingRequests == 0 { return nil }
                case .request(let request):
                    next = request
                case .rename(let requestID, let oldName):
                    await finishRename(requestID: requestID, oldName: oldName)
                case .close(let reason):
                    if reason.code != .normal { group.cancelAll() }
                    return reason
                }
            }
        }
    }

    /// Why the inbound stream ended: a timer that ends the session closes the channel after
    /// recording its reason; otherwise the peer closed.
    private func streamEnded() -> CloseReason {
        outbound.failure ?? CloseReason(.peerClosed, "the client closed the connection")
    }

    private func closeReason(for error: any Error) -> CloseReason {
        if let error = error as? ProtocolError { return error.closeReason }
        return CloseReason(.peerClosed, "the connection failed: \(error)")
    }

    /// The handshake's watcher: when the deadline the state machine set passes, the machine
    /// decides, and a close it returns wins the race, which cancels the reader waiting for the
    /// slow client. Ends (returns `nil`) when the client is accepted or the handshake has failed.
    private func watchHandshakeDeadlines() async -> CloseReason? {
        while identity == nil, !Task.isCancelled {
            // A shutdown (or a send failure) has closed the channel: that is the reason, whatever
            // the handshake was waiting for.
            if let failure = outbound.failure { return failure }
            guard handshake.currentDeadline != nil else { return nil }
            await handshakeWakeup.wait()
            guard identity == nil, !Task.isCancelled else { return nil }
            if let failure = outbound.failure { return failure }
            if case .close(let reason)? = perform(handshake.deadlineExpired()) { return reason }
        }
        return nil
    }

    private func finish(_ reason: CloseReason) async {
        // A failure on the sending side (a slow consumer) is the real reason the reader stopped.
        let reason = outbound.failure ?? reason
        // A client that gave the right password is penalised as a session would be: a name it got
        // wrong, or leaving at the name prompt, earns its address nothing.
        environment.admission.penalize(
            ticket, for: reason, wasAuthenticated: identity != nil || handshake.passwordAccepted,
            atHello: handshake.expectsKeyExchange)
        // Counted before the closing frame goes out, so a client that has read it sees them.
        if identity != nil {
            environment.metrics.sessionEnded(reason)
        } else {
            environment.metrics.handshakeEnded(closing: reason, after: .now - ticket.admitted)
        }
        if reason.code != .peerClosed { send(.closing(reason)) }
        outbound.finish(reason)
        record(
            .connectionClosed(
                reason: reason, step: handshake.stepName, duration: ContinuousClock.now - ticket.admitted,
                name: identity?.displayName))
        if let identity {
            environment.sessions.remove(identity.connectionID)
            await environment.registry.sessionDidEnd(identity)
        }
    }
}
