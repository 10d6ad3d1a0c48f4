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

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
