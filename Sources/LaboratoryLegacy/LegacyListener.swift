import Laboratory
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The listener for the original prototype's clients, served alongside a `LaboratoryServer`'s
/// own: pass it in the server's `listeners`. Accepted prototype clients reach the same services as
/// protocol v1 clients, and meet them in the same chat rooms.
///
/// Its wire format has no authentication of the server and, with the default transform, no
/// encryption at all: enable it only for prototype clients on a trusted network. See
/// ``LegacyConfiguration`` and `Docs/SECURITY.md`.
public final class LegacyListener: LaboratoryListener {
    /// The bound listening channel, whose children are the accepted connections.
    public typealias Bound = NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, Never>, Never>

    /// What it listens on and how it treats its clients.
    public let configuration: LegacyConfiguration
    private let boundAddress = NIOLockedValueBox<SocketAddress?>(nil)

    /// A listener with `configuration`.
    public init(configuration: LegacyConfiguration) { self.configuration = configuration }

    /// The address it is bound to: set once the server is listening (when
    /// `LaboratoryServer/listeningAddress()` has returned); `nil` before.
    public var localAddress: SocketAddress? { boundAddress.withLockedValue { $0 } }

    /// Binds ``LegacyConfiguration/host`` and ``LegacyConfiguration/port``.
    public func bind(context: LaboratoryListenerContext) async throws -> Bound {
        let channel = try await ServerBootstrap(group: context.eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
                }
            }
        boundAddress.withLockedValue { $0 = channel.channel.localAddress }
        return channel
    }

    /// Accepts prototype clients until graceful shutdown (then each is told `STOP SERVER` and
    /// closed); returns once every connection has ended.
    public func run(_ listener: Bound, context: LaboratoryListenerContext) async throws {
        context.logger.warning(
            "LEGACY LISTENER ENABLED: the prototype's wire format has no server authentication and, with the default transform, no encryption",
            metadata: ["address": "\(listener.channel.localAddress.map { "\($0)" } ?? "unknown")"])
        let configuration = configuration
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await listener.executeThenClose { inbound in
                    for try await child in inbound {
                        let source = child.channel.remoteAddress?.ipAddress ?? "unknown"
                        // The prototype's clients cannot read a refusal (or an eviction); they
                        // are simply closed.
                        guard case .admitted(let ticket) = context.admit(source: source) else {
                            child.channel.close(promise: nil)
                            continue
                        }
                        context.onEviction(ticket) { [channel = child.channel] _ in channel.close(promise: nil) }
                        group.addTask {
                            let connection = LegacyConnection(
                                channel: child.channel, ticket: ticket, context: context, configuration: configuration)
                            try? await child.executeThenClose { inbound, _ in _ = await connection.run(inbound) }
                            context.closed(ticket)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }
}
