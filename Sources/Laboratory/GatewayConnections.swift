import NIOConcurrencyHelpers

/// The connections one gateway is serving, so that the server's graceful shutdown reaches them.
///
/// A gateway's sessions run inside its transport's tasks (for the WebSocket gateway, the HTTP
/// server's), which do not see the server's graceful shutdown: the gateway's listener sees it and
/// calls ``beginDraining()``, which tells every open session as the TCP listener tells its own
/// (the going-away notice and the grace period, or the end of an unfinished handshake), and refuses
/// connections that arrive later. ``drained()`` returns once all have ended.
package final class GatewayConnections: Sendable {
    private struct State {
        var nextID: UInt64 = 0
        var shutdowns: [UInt64: @Sendable () -> Void] = [:]
        var isDraining = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// An empty set, not draining.
    package init() {}

    /// How many connections are open.
    package var count: Int { state.withLockedValue { $0.shutdowns.count } }

    /// Whether the server's graceful shutdown has begun.
    package var isDraining: Bool { state.withLockedValue { $0.isDraining } }

    /// Adds a connection and how to tell it that the server is shutting down; `nil` (not added)
    /// once draining has begun.
    func enter(shutDown: @escaping @Sendable () -> Void) -> UInt64? {
        state.withLockedValue { state in
            guard !state.isDraining else { return nil }
            state.nextID += 1
            state.shutdowns[state.nextID] = shutDown
            return state.nextID
        }
    }

    /// The connection `id` has ended.
    func leave(_ id: UInt64) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.shutdowns[id] = nil
            guard state.isDraining, state.shutdowns.isEmpty else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The server's graceful shutdown has begun: every open connection is told, and connections
    /// that arrive from now on are refused.
    package func beginDraining() {
        let shutdowns = state.withLockedValue { state in
            state.isDraining = true
            return Array(state.shutdowns.values)
        }
        for shutDown in shutdowns { shutDown() }
    }

    /// Returns once draining has begun and every connection has ended.
    package func drained() async {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                guard state.isDraining, state.shutdowns.isEmpty else {
                    state.waiters.append(continuation)
                    return false
                }
                return true
            }
            if done { continuation.resume() }
        }
    }
}
