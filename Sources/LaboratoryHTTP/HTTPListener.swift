import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Laboratory
import LaboratoryTransport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// The optional HTTP face of a `LaboratoryServer`: health and readiness probes, metrics, the
/// admin API, the WebSocket gateway and the browser client's files, served by Hummingbird
/// alongside the server's TCP listener (over TLS if ``HTTPConfiguration/tls`` is set).
///
/// Pass one to the server's `listeners:`; it binds after the server's own listener (so `/ready`
/// answering means the server listens with its keys loaded). On the server's graceful shutdown it
/// answers 503 on `/ready` from the moment the shutdown begins, keeps serving while the server's
/// sessions finish (at most the shutdown grace period), then stops.
///
/// `GET /metrics` serves ``HTTPConfiguration/metrics`` in the Prometheus text format: give the
/// server a `PrometheusMetricsFactory` over the same registry (`ServerConfiguration.metricsFactory`,
/// or the global factory through `MetricsSystem.bootstrap`).
///
/// ```swift
/// let http = HTTPListener(configuration: HTTPConfiguration(port: 8080))
/// let server = LaboratoryServer(configuration: configuration, services: .standard, listeners: [http])
/// ```
public final class HTTPListener: LaboratoryListener {
    /// The running Hummingbird application (opaque): what ``bind(context:)`` opened.
    public struct Bound: Sendable {
        fileprivate let serving: Task<Void, any Error>
        fileprivate let group: ServiceGroup
        fileprivate let state: HTTPListenerState
    }

    /// Where this listener serves.
    public let configuration: HTTPConfiguration
    private let boundAddress = NIOLockedValueBox<SocketAddress?>(nil)

    /// A listener for `configuration`; nothing is bound until the server runs it.
    public init(configuration: HTTPConfiguration) { self.configuration = configuration }

    /// The address the listener is bound to, once bound (with the real port when it asked for 0).
    public var localAddress: SocketAddress? { boundAddress.withLockedValue { $0 } }

    /// Starts the HTTP server and returns once it listens; throws (port in use, permission
    /// denied, an unknown host) if it cannot bind.
    public func bind(context: LaboratoryListenerContext) async throws -> Bound {
        let state = HTTPListenerState()
        let router = HTTPRouter.make(configuration: configuration, context: context, state: state)
        let (running, started) = AsyncStream.makeStream(of: SocketAddress?.self)
        var server = HTTPServerBuilder.http1WebSocketUpgrade(
            webSocketRouter: router, configuration: WebSocketGatewayRoutes.webSocketConfiguration(context: context))
        if let tls = configuration.tls { server = try .tls(server, tlsConfiguration: tls) }
        let application = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                started.yield(channel.localAddress)
                started.finish()
            },
            eventLoopGroupProvider: .shared(context.eventLoopGroup),
            logger: context.logger
        )
        // A group of its own, detached from the server's: the server's graceful shutdown reaches
        // it through `run`, which first marks the listener as draining.
        let group = ServiceGroup(
            configuration: .init(
                services: [application], gracefulShutdownSignals: [], cancellationSignals: [], logger: context.logger))
        let serving = Task.detached {
            defer { started.finish() }
            try await group.run()
        }
        var iterator = running.makeAsyncIterator()
        guard let address = await iterator.next() else {
            // The application stopped before it listened: its error says why.
            try await serving.value
            throw CancellationError()
        }
        boundAddress.withLockedValue { $0 = address }
        return Bound(serving: serving, group: group, state: state)
    }

    /// Serves until the server's graceful shutdown, then drains: `/ready` answers 503 (and every
    /// other route keeps serving) until the server's other connections have all ended or its
    /// shutdown grace period is over, whichever comes first; then the HTTP server stops. Ends at
    /// once on cancellation.
    public func run(_ bound: Bound, context: LaboratoryListenerContext) async throws {
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await bound.serving.value
                    return true
                }
                group.addTask {
                    try await gracefulShutdown()
                    bound.state.beginDraining()
                    // WebSocket sessions get the server's going-away notice and grace period too:
                    // the HTTP server's own graceful shutdown would close them at once.
                    bound.state.gatewayConnections.beginDraining()
                    await Self.drain(context)
                    await bound.state.gatewayConnections.drained()
                    await bound.group.triggerGracefulShutdown()
                    return false
                }
                // Until the application has stopped; a drain that never began is then cancelled.
                while let servingEnded = try await group.next() {
                    if servingEnded {
                        group.cancelAll()
                        return
                    }
                }
            }
        } onCancel: {
            bound.serving.cancel()
        }
    }

    /// Returns when every connection the server admitted has ended, or when the shutdown grace
    /// period is over (sessions still open are then being closed), whichever comes first.
    private static func drain(_ context: LaboratoryListenerContext) async {
        await withTaskGroup(of: Void.self) { race in
            race.addTask { await context.allConnectionsEnded() }
            race.addTask { try? await context.clock.sleep(for: context.shutdownGracePeriod) }
            await race.next()
            race.cancelAll()
        }
    }
}
