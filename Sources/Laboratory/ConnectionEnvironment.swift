@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import Synchronization

/// What every connection of one server shares, read-only apart from the id counter.
struct ConnectionEnvironment: Sendable {
    let handshake: HandshakeConfiguration
    let registry: ServiceRegistry
    let logger: Logger
    let shutdownGracePeriod: Duration
    let maximumOutstandingRequests: Int
    /// The largest frame payload of an accepted session (before acceptance: the handshake's).
    let maximumFrameSize: Int
    let outbound: OutboundLimits
    let keepaliveInterval: Duration?
    let idleTimeout: Duration?
    let wrongPasswordDelay: Duration
    let connectionIDs: ConnectionIDSource
    let transportKeys: TransportKeys
    let admission: Admission
    let memoryReclaimer: MemoryReclaimer
    /// The accepted sessions of every listener (the admin API's list and kick).
    let sessions: SessionDirectory
    /// The server's metrics, made once.
    let metrics: ServerMetrics
    /// What every deadline and timer of a connection is kept on.
    let clock: AnyTimerClock
}

/// Hands out connection ids, unique for the server's lifetime, starting at 1.
final class ConnectionIDSource: Sendable {
    private let next = Atomic<UInt64>(1)

    func make() -> UInt64 { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}
