import Hummingbird
import HummingbirdWebSocket
import Laboratory
import LaboratoryProtocol
import LaboratoryTransport
import NIOCore

/// `GET /v1/ws`: the WebSocket gateway. Each binary message carries one protocol frame's payload;
/// the session behind it is the server's own (see `LaboratoryListenerContext`'s
/// `serveGatewayConnection`), so WebSocket clients meet TCP clients in the same rooms.
///
/// Before the upgrade: 403 for an `Origin` the ``WebSocketGatewayConfiguration`` does not allow,
/// 503 once the server's graceful shutdown has begun.
enum WebSocketGatewayRoutes {
    /// The gateway's path.
    static let path = "v1/ws"

    static func add(
        to router: Router<HTTPRequestContext>, context: LaboratoryListenerContext, state: HTTPListenerState,
        configuration: WebSocketGatewayConfiguration
    ) {
        let origins = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
        router.ws(
            RouterPath(path),
            shouldUpgrade: { request, _ in
                guard !state.isDraining else {
                    throw HTTPError(.serviceUnavailable, message: "the server is shutting down")
                }
                guard origins.allows(origin: request.headers[.origin], host: request.head.authority) else {
                    throw HTTPError(.forbidden, message: "this origin may not open the gateway")
                }
                return .upgrade([:])
            },
            onUpgrade: { inbound, outbound, webSocket in
                let request = webSocket.requestContext
                let limit = FrameSizeLimit(context.handshakeFrameSize)
                let frames = WebSocketFrameSource(inbound, limit: limit)
                // Before anything is read: oversized frames are stopped at their header.
                let channel = request.channel
                try await channel.eventLoop.submit {
                    let guardHandler = WebSocketFrameGuard(limit: limit) { length in
                        frames.fail(
                            ProtocolError(
                                CloseReason(
                                    .frameTooLarge,
                                    "message of \(length) bytes exceeds the maximum frame of \(limit.current) bytes")))
                    }
                    try channel.pipeline.syncOperations.addHandler(guardHandler, position: .first)
                }.get()
                let writer = WebSocketFrameWriter()
                async let sent: Void = writer.run(outbound)
                await context.serveGatewayConnection(
                    source: request.remoteAddress, channel: channel, frameLimit: limit, frames: frames, writer: writer,
                    connections: state.gatewayConnections)
                writer.end()
                await sent
            })
    }

    /// The WebSocket layer's settings: its frame limit above the session's maximum, so that the
    /// gateway's own checks (``WebSocketFrameGuard`` at each header, the frame source per message)
    /// are the ones that apply and answer with `frameTooLarge`; no WebSocket pings of the server's
    /// own (the protocol's keepalive does that work); the protocol's close timeout.
    static func webSocketConfiguration(context: LaboratoryListenerContext) -> WebSocketServerConfiguration {
        WebSocketServerConfiguration(
            maxFrameSize: context.maximumFrameSize + 1, autoPing: .disabled, closeTimeout: context.closeTimeout)
    }
}
