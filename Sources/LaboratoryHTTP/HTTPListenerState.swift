import Laboratory
import NIOConcurrencyHelpers

/// What the routes of one ``HTTPListener`` share while it serves: whether the server is draining
/// (graceful shutdown has begun, so `/ready` answers 503 while sessions finish).
package final class HTTPListenerState: Sendable {
    private let draining = NIOLockedValueBox(false)
    /// The WebSocket gateway's open sessions, drained at the server's graceful shutdown.
    package let gatewayConnections = GatewayConnections()

    package init() {}

    /// True once the server's graceful shutdown has begun.
    package var isDraining: Bool { draining.withLockedValue { $0 } }

    /// Marks the server as draining; `/ready` answers 503 from now on.
    package func beginDraining() { draining.withLockedValue { $0 = true } }
}
