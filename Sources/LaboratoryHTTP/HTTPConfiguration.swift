/// Where and how ``HTTPListener`` serves.
///
/// The HTTP listener is off unless an embedder (or `laboratory-server --http-port`) creates one;
/// it binds to the loopback address by default, because its admin API and metrics are for the
/// operator of this machine. Bind it elsewhere only behind a reverse proxy or with care.
public struct HTTPConfiguration: Sendable {
    /// The address to bind; `127.0.0.1` by default.
    public var host: String
    /// The port to bind; 0 picks a free one (see ``HTTPListener/localAddress``).
    public var port: Int
    /// The WebSocket gateway (`GET /v1/ws`), or `nil` (the default) for none.
    public var webSocketGateway: WebSocketGatewayConfiguration?

    /// A configuration for `port` on `host` (the loopback address unless given), with the
    /// WebSocket gateway if `webSocketGateway` is given.
    public init(host: String = "127.0.0.1", port: Int, webSocketGateway: WebSocketGatewayConfiguration? = nil) {
        self.host = host
        self.port = port
        self.webSocketGateway = webSocketGateway
    }
}
