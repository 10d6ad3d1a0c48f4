import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of every route of ``HTTPListener``: Hummingbird's core storage, the
/// WebSocket upgrade slot (the gateway's routes upgrade), and the peer's address (admission and
/// penalties count HTTP clients by it, like TCP clients).
package struct HTTPRequestContext: RequestContext, WebSocketRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let webSocket: WebSocketHandlerReference<Self>
    /// The peer's IP address as admission counts it, or `"unknown"`.
    package let remoteAddress: String
    /// The HTTP connection's channel (after a WebSocket upgrade, the WebSocket's): the gateway
    /// runs its session's timers and writes on its event loop, and closes it to end the session.
    package let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        self.channel = source.channel
    }
}
