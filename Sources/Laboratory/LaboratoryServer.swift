import LaboratoryCrypto
import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A Laboratory server: listens for TCP connections, runs the encrypted handshake with each, and
/// routes accepted clients' requests to the services in its ``ServiceRegistry``.
///
/// It conforms to ServiceLifecycle's `Service`: run it in a `ServiceGroup`. On graceful shutdown
/// it stops accepting, tells every accepted client the server is stopping, lets sessions finish
/// for ``ServerConfiguration/shutdownGracePeriod``, then closes the rest and returns. Clients
/// cannot stop the server.
public actor LaboratoryServer: Service {
    private let configuration: ServerConfiguration
    private let environment: ConnectionEnvironment
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private var state: ListeningState = .idle

    private enum ListeningState {
        case idle
        case starting([CheckedContinuation<SocketAddress, any Error>])
        case listening(SocketAddress)
        case stopped(any Error)
    }

    /// Creates a server. Nothing happens until ``run()``.
    public init(
        configuration: ServerConfiguration, services: ServiceRegistry = .standard,
        logger: Logger = Logger(label: "laboratory.server"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.environment = ConnectionEnvironment(
            handshake: HandshakeConfiguration(
                privateKey: configuration.hostKey, passwordDigest: configuration.passwordDigest,
                serverName: configuration.serverName, services: services.names,
                stepTimeout: configuration.handshakeStepTimeout, allowsPlaintext: configuration.allowsPlaintext),
            registry: services, logger: logger, shutdownGracePeriod: configuration.shutdownGracePeriod,
            maximumOutstandingRequests: configuration.maximumOutstandingRequests, outbound: configuration.outbound,
            connectionIDs: ConnectionIDSource())
    }

    /// The address the server is bound to, once it is listening. Waits until then; throws if
    /// binding failed.
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

    /// Binds, serves until graceful shutdown or cancellation, then returns once every
    /// connection has ended.
    public func run() async throws {
        let serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            serverChannel = try await bind()
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
                "services": "\(environment.registry.names.joined(separator: ","))",
            ])
        if configuration.allowsPlaintext {
            logger.warning(
                "PLAINTEXT SESSIONS ARE ALLOWED: a client may choose no encryption, exposing its password and traffic"
            )
        }
        let environment = self.environment
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { inbound in
                    for try await child in inbound {
                        group.addTask { await Self.serve(child, environment: environment) }
                    }
                }
            }
        } onGracefulShutdown: {
            serverChannel.channel.close(promise: nil)
        }
        publish(.stopped(ServerStoppedError()))
        logger.info("stopped")
    }

    private func bind() async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        let maximumFrameSize = configuration.maximumFrameSize
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumPayloadByteCount: maximumFrameSize)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
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

    /// Runs one connection to its end. Never throws: a failing connection ends alone.
    private static func serve(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, environment: ConnectionEnvironment)
        async
    {
        do {
            let connection = try Connection(channel: channel.channel, environment: environment)
            try await channel.executeThenClose { inbound, _ in
                await connection.run(inbound)
            }
        } catch {
            environment.logger.warning("connection failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The server has stopped; it no longer has a listening address.
public struct ServerStoppedError: Error, CustomStringConvertible {
    public var description: String { "the server is not running" }
}
