import CoreMetrics
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A Laboratory server: listens for TCP connections, runs the encrypted handshake with each, and
/// routes accepted clients' requests to the services in its ``ServiceRegistry``. Extra ways in
/// (``LaboratoryListener``s) are served alongside the TCP listener and reach the same services.
///
/// It conforms to ServiceLifecycle's `Service`: run it in a `ServiceGroup`. On graceful shutdown
/// it stops accepting, tells every accepted client the server is stopping, lets sessions finish
/// for ``ServerConfiguration/shutdownGracePeriod``, then closes the rest and returns once every
/// listener has drained too. Clients cannot stop the server.
///
/// It reports connections, handshakes, sessions, requests, chat, traffic, penalties and key
/// rotations through swift-metrics, to ``ServerConfiguration/metricsFactory``.
public actor LaboratoryServer: Service {
    private let configuration: ServerConfiguration
    private let services: ServiceRegistry
    private let listeners: [any LaboratoryListener]
    private let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let admission: Admission
    private let metrics: ServerMetrics
    let live: LiveSettingsBox
    private var state: ListeningState = .idle
    private(set) var transportKeys: TransportKeys?

    private enum ListeningState {
        case idle
        case starting([CheckedContinuation<SocketAddress, any Error>])
        case listening(SocketAddress)
        case stopped(any Error)
    }

    /// Creates a server that also serves `listeners` (see ``LaboratoryListener``). Nothing
    /// happens until ``run()``.
    public init(
        configuration: ServerConfiguration, services: ServiceRegistry = .standard,
        listeners: [any LaboratoryListener] = [], logger: Logger = Logger(label: "laboratory.server"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.services = services
        self.listeners = listeners
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.metrics = ServerMetrics(
            factory: configuration.metricsFactory ?? MetricsSystem.factory, services: services.names)
        self.admission = Admission(policy: configuration.admission, logger: logger, metrics: metrics)
        self.live = LiveSettingsBox(LiveSettings(configuration: configuration), admission: admission)
    }

    /// The address the server is bound to, once it is listening. Waits until then; throws if
    /// starting failed.
    public func listeningAddress() async throws -> SocketAddress {
        switch state {
        case .listening(let address): return address
        case .stopped(let error): throw error
        case .idle:
            return try await withCheckedThrowingContinuation { state = .starting([$0]) }
        case .starting(var waiters):
            return try await withCheckedThrowingContinuation {
                waiters.append($0)
                state = .starting(waiters)
            }
        }
    }

    /// Generates the first transport key, binds (its own listener, then every extra one), serves
    /// until graceful shutdown or cancellation, then returns once every connection has ended.
    public func run() async throws {
        let serverChannel: NIOAsyncChannel<AcceptedChannel, Never>
        let environment: ConnectionEnvironment
        let listenerRuns: [@Sendable () async throws -> Void]
        do {
            environment = try await makeEnvironment()
            serverChannel = try await bind()
            let context = LaboratoryListenerContext(environment: environment, eventLoopGroup: eventLoopGroup)
            listenerRuns = try await Self.bind(listeners, context: context, orClose: serverChannel.channel)
        } catch {
            publish(.stopped(error))
            throw error
        }
        let address = serverChannel.channel.localAddress!
        publish(.listening(address))
        logger.info(
            "listening",
            metadata: [
                "address": "\(address)", "fingerprint": "\(configuration.hostKey.publicKey.fingerprint)",
                "services": "\(services.names.joined(separator: ","))",
            ])
        if configuration.allowsPlaintext {
            logger.warning(
                "PLAINTEXT SESSIONS ARE ALLOWED: a client may choose no encryption, exposing its password and traffic"
            )
        }
        try await withThrowingTaskGroup(of: Void.self) { background in
            background.addTask { await environment.transportKeys.rotate() }
            if configuration.reclaimsFreedMemory {
                background.addTask { await environment.memoryReclaimer.run() }
            }
            async let extraListeners: Void = Self.runAll(listenerRuns, logger: logger)
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    try await serverChannel.executeThenClose { inbound in
                        for try await accepted in inbound {
                            let source = accepted.channel.remoteAddress?.ipAddress ?? "unknown"
                            switch environment.admission.admit(source: source) {
                            case .refused(let reason):
                                group.addTask { await Self.refuse(accepted.channel, reason) }
                            case .admitted(let ticket):
                                group.addTask {
                                    await Self.serve(accepted, ticket: ticket, environment: environment)
                                }
                            }
                        }
                    }
                }
            } onGracefulShutdown: {
                serverChannel.channel.close(promise: nil)
            }
            // Each extra listener stops accepting on the same graceful shutdown and returns once
            // its connections have ended.
            try await extraListeners
            background.cancelAll()
        }
        publish(.stopped(ServerStoppedError()))
        logger.info("stopped")
    }

    /// Runs every bound extra listener; returns when all have returned. A listener that fails is
    /// logged at once (the others and the TCP listener keep serving); its error is rethrown at the end.
    private static func runAll(_ runs: [@Sendable () async throws -> Void], logger: Logger) async throws {
        let firstFailure = await withTaskGroup(of: (any Error)?.self) { group in
            for run in runs {
                group.addTask {
                    do {
                        try await run()
                        return nil
                    } catch {
                        logger.error(
                            "an extra listener failed and stopped; the server keeps serving its other listeners",
                            metadata: ["error": .client(describing: error)])
                        return error
                    }
                }
            }
            var first: (any Error)?
            for await failure in group where first == nil { first = failure }
            return first
        }
        if let firstFailure { throw firstFailure }
    }

    /// Binds every extra listener; returns how to run each. If one cannot bind, closes `channel`
    /// and what the others bound, and throws.
    private static func bind(
        _ listeners: [any LaboratoryListener], context: LaboratoryListenerContext, orClose channel: any Channel
    ) async throws -> [@Sendable () async throws -> Void] {
        var runs: [@Sendable () async throws -> Void] = []
        do {
            for listener in listeners { runs.append(try await bind(listener, context: context)) }
        } catch {
            channel.close(promise: nil)
            await abandon(runs)
            throw error
        }
        return runs
    }

    /// Binds `listener`; returns how to run it.
    private static func bind<Listener: LaboratoryListener>(
        _ listener: Listener, context: LaboratoryListenerContext
    ) async throws -> @Sendable () async throws -> Void {
        let bound = try await listener.bind(context: context)
        return { try await listener.run(bound, context: context) }
    }

    /// Runs bound listeners in a cancelled task, so that each closes what it bound (the server
    /// failed to start).
    private static func abandon(_ runs: [@Sendable () async throws -> Void]) async {
        await withTaskGroup(of: Void.self) { group in
            group.cancelAll()
            for run in runs { group.addTask { try? await run() } }
        }
    }

    private func makeEnvironment() async throws -> ConnectionEnvironment {
        let connectionIDs = try ConnectionIDSource(node: configuration.nodeNumber)
        let transportKeys = try await TransportKeys.start(
            identity: configuration.hostKey, policy: configuration.transportKeys,
            validitySlack: configuration.handshakeTimeout, logger: logger, metrics: metrics,
            clock: configuration.clock)
        self.transportKeys = transportKeys
        return ConnectionEnvironment(
            handshake: HandshakeConfiguration(
                identityKeySPKI: configuration.hostKey.publicKey.spkiDER, passwordDigest: configuration.passwordDigest,
                serverName: configuration.serverName, services: services.names,
                stepTimeout: configuration.handshakeStepTimeout, totalTimeout: configuration.handshakeTimeout,
                allowsPlaintext: configuration.allowsPlaintext,
                wrongPasswordDelay: configuration.admission.penalties.wrongPasswordDelay),
            registry: services, logger: logger, shutdownGracePeriod: configuration.shutdownGracePeriod,
            maximumOutstandingRequests: configuration.maximumOutstandingRequests,
            maximumFrameSize: configuration.maximumFrameSize, outbound: configuration.outbound,
            keepaliveInterval: configuration.keepaliveInterval, idleTimeout: configuration.idleTimeout,
            connectionIDs: connectionIDs, transportKeys: transportKeys, admission: admission, live: live,
            memoryReclaimer: MemoryReclaimer(clock: configuration.clock), sessions: SessionDirectory(),
            metrics: metrics,
            clock: configuration.clock)
    }

    /// An accepted TCP channel, the handler that hands its decoded frames to the connection, and
    /// the frame size limit its decoder checks (raised at acceptance).
    ///
    /// The channel is not wrapped in a `NIOAsyncChannel`: its frames reach the connection through
    /// ``InboundFrames`` and its writes go through the connection's own ``Outbound`` (a refusal's
    /// straight to the channel). So a channel accepted while the listener closes, which may never
    /// reach the accept loop, leaves no async writer behind to trap when it is deallocated
    /// (swift-nio#2813, which once crashed the server under a connect churn at SIGTERM).
    typealias AcceptedChannel = (channel: any Channel, frames: InboundFrames, frameLimit: FrameSizeLimit)

    /// Sets up an accepted channel on its event loop, before anything is read: the frame decoder
    /// with the handshake's frame limit, then the handler that hands frames to the connection.
    static func wrapAccepted(_ channel: any Channel, handshakeFrameSize: Int) throws -> AcceptedChannel {
        let limit = FrameSizeLimit(handshakeFrameSize)
        let frames = InboundFrames(channel: channel)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
        try channel.pipeline.syncOperations.addHandler(frames)
        return (channel, frames, limit)
    }

    private func bind() async throws -> NIOAsyncChannel<AcceptedChannel, Never> {
        // Until the client is accepted only handshake-sized frames are read (the session's maximum
        // could be configured smaller still).
        let handshakeFrameSize = min(Frame.maximumHandshakePayloadByteCount, configuration.maximumFrameSize)
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Until the client is accepted, small reads, one per readable event (see InboundReads);
            // the connection switches to the session's at acceptance.
            .childChannelOption(.recvAllocator, value: InboundReads.handshakeAllocator)
            .childChannelOption(.maxMessagesPerRead, value: InboundReads.handshakeMessagesPerRead)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.wrapAccepted(channel, handshakeFrameSize: handshakeFrameSize)
                }
            }
    }

    private func publish(_ newState: ListeningState) {
        if case .starting(let waiters) = state {
            for waiter in waiters {
                switch newState {
                case .listening(let address): waiter.resume(returning: address)
                case .stopped(let error): waiter.resume(throwing: error)
                case .idle, .starting: break
                }
            }
        }
        state = newState
    }

    /// Counts of open connections, for tests and monitoring.
    var connectionCounts: (total: Int, unauthenticated: Int, trackedSources: Int) { admission.counts }

    /// Runs one connection to its end, then closes its channel and waits for the close. Never
    /// throws: a failing connection ends alone.
    private static func serve(
        _ accepted: AcceptedChannel, ticket: AdmissionTicket, environment: ConnectionEnvironment
    ) async {
        do {
            let connection = try makeConnection(
                accepted.channel, ticket: ticket, frameLimit: accepted.frameLimit, environment: environment)
            _ = await connection.run(accepted.frames)
        } catch {
            environment.logger.debug("connection failed", metadata: ["error": .client(describing: error)])
        }
        accepted.channel.close(promise: nil)
        try? await accepted.channel.closeFuture.get()
        environment.admission.closed(ticket)
        environment.memoryReclaimer.connectionEnded()
    }

    /// Makes the connection and lets admission evict it. Not inlined into `serve`, whose frame an
    /// idle session keeps: what only setting up needs stays off it.
    @inline(never)
    private static func makeConnection(
        _ channel: any Channel, ticket: AdmissionTicket, frameLimit: FrameSizeLimit, environment: ConnectionEnvironment
    ) throws -> Connection {
        let connection = try Connection(
            channel: channel, ticket: ticket, frameLimit: frameLimit, environment: environment)
        // A newcomer may evict this connection while its handshake is unfinished: it is told
        // why, and its channel closes, which ends its reader like any other close.
        // (A handshake that is not reading, in a wrong password's delay, learns it from its
        // watcher, which the wakeup wakes.)
        environment.admission.onEviction(ticket) {
            [outbound = connection.outbound, wakeup = connection.handshakeWakeup] in
            outbound.close($0)
            wakeup.ring()
        }
        return connection
    }

    /// Tells a refused client why (instead of the hello) and closes.
    private static func refuse(_ channel: any Channel, _ reason: CloseReason) async {
        let frame = ByteBuffer.frame(ServerMessage.closing(reason).encoded(), allocator: channel.allocator)
        try? await channel.writeAndFlush(frame).get()
        channel.close(promise: nil)
        try? await channel.closeFuture.get()
    }
}

/// The server has stopped; it no longer has a listening address.
public struct ServerStoppedError: Error, CustomStringConvertible {
    public var description: String { "the server is not running" }
}
