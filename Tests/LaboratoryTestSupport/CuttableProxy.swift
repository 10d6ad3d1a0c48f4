import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay on 127.0.0.1 in front of a server, whose connections a test can cut all at once:
/// a network failure between clients and the server, with both ends seeing their socket close
/// (the server its session's TCP, the client its connection). While ``refusesConnections`` is
/// set, new connections are closed as soon as they are accepted, as a path that is still down.
package final class CuttableProxy: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var refuses = false
        var accepted = 0
    }

    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>
    /// The port clients connect to.
    package let port: Int

    /// Starts relaying from a fresh port to `127.0.0.1:upstreamPort`.
    package init(upstreamPort: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        let state = NIOLockedValueBox(State())
        self.state = state
        serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                let refuses = state.withLockedValue { state in
                    state.accepted += 1
                    if !state.refuses { state.channels[ObjectIdentifier(inbound)] = inbound }
                    return state.refuses
                }
                guard !refuses else { return inbound.close() }
                inbound.closeFuture.whenComplete { _ in
                    _ = state.withLockedValue { $0.channels.removeValue(forKey: ObjectIdentifier(inbound)) }
                }
                // Both halves are in place before either socket reads (the server speaks first).
                let (toServer, toClient) = RelayHandler.pair()
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { $0.pipeline.addHandler(toClient) }
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMap { outbound in
                        state.withLockedValue { $0.channels[ObjectIdentifier(outbound)] = outbound }
                        outbound.closeFuture.whenComplete { _ in
                            _ = state.withLockedValue { $0.channels.removeValue(forKey: ObjectIdentifier(outbound)) }
                        }
                        return inbound.pipeline.addHandler(toServer)
                    }
                    .flatMapErrorThrowing { error in
                        inbound.close(promise: nil)
                        throw error
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = serverChannel.localAddress?.port ?? 0
    }

    /// Whether new connections are closed at once (the path is down).
    package var refusesConnections: Bool {
        get { state.withLockedValue { $0.refuses } }
        set { state.withLockedValue { $0.refuses = newValue } }
    }

    /// How many connections were accepted so far, refused ones included.
    package var acceptedConnections: Int { state.withLockedValue { $0.accepted } }

    /// Closes every relayed connection, both sides.
    package func cutAll() {
        let channels = state.withLockedValue { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Stops relaying on every connection open now, without closing any: a silent network
    /// failure, where no reset or FIN ever arrives. Connections made later are relayed.
    package func freezeAll() async {
        let channels = state.withLockedValue { Array($0.channels.values) }
        for channel in channels { try? await channel.setOption(.autoRead, value: false).get() }
    }

    /// Cuts everything and stops listening.
    package func stop() async {
        cutAll()
        try? await serverChannel.close()
    }
}

/// One direction's half of a relay: what it reads is written to its partner's channel, and when
/// either side closes, both do.
private final class RelayHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (RelayHandler, RelayHandler) {
        let first = RelayHandler()
        let second = RelayHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The partner may have held back a read until this side existed.
        partner?.partnerBecameWritable()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerClose() { context?.close(promise: nil) }
    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }
    private var isWritable: Bool { context?.channel.isWritable ?? false }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }

    func channelInactive(context: ChannelHandlerContext) { partner?.partnerClose() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.isWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
