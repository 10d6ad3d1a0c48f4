/// Whether ``HTTPListener`` serves the WebSocket gateway (`GET /v1/ws`), and which web pages may
/// open it.
///
/// The gateway carries the server's own protocol over WebSocket, so that browsers can be
/// clients: the same handshake, password and sessions as TCP (see PROTOCOL.md, "WebSocket
/// transport"). A browser sends the page's origin in the `Origin` header of the upgrade request;
/// the gateway accepts:
/// - a request whose `Origin` names the same host and port as its `Host` header (a page served
///   from this HTTP listener, or from a reverse proxy in front of it that keeps the `Host`);
/// - a request whose `Origin` is in ``allowedOrigins``;
/// - a request without `Origin`: not a browser (browsers always send it on a WebSocket upgrade),
///   and a client that is not a browser could send any `Origin` it likes, so refusing it would
///   protect nothing.
///
/// Any other `Origin` (including `null`) is refused with 403 before the upgrade. The check keeps
/// other sites' pages from using a visitor's browser as a client; the password still guards every
/// session, whichever way it comes in.
public struct WebSocketGatewayConfiguration: Sendable, Hashable {
    /// Origins allowed besides the same origin, each as a browser writes it:
    /// `scheme://host[:port]` (for example `https://chat.example.org`), compared without regard
    /// to case. Empty by default.
    public var allowedOrigins: [String]

    /// A gateway that allows the same origin and `allowedOrigins`.
    public init(allowedOrigins: [String] = []) {
        self.allowedOrigins = allowedOrigins
    }
}
