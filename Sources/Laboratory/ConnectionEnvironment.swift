@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import Synchronization

/// What every connection of one server shares, read-only apart from the id counter and the live
/// settings.
///
/// A class, so that a connection and every suspended frame of its task hold one reference rather
/// than their own copy of all this (a copy in the `Connection` actor, in the accept loop's task and
/// in `LaboratoryServer.serve`'s frame cost an idle session about 1 KiB).
final class ConnectionEnvironment: Sendable {
    /// The handshake's settings as the server started; the password and the wrong-password delay
    /// in force are in ``live`` (``currentHandshake``).
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
    let connectionIDs: ConnectionIDSource
    let transportKeys: TransportKeys
    let admission: Admission
    /// The password and admission policy in force (``LaboratoryServer/reload(_:)`` replaces them).
    let live: LiveSettingsBox
    let memoryReclaimer: MemoryReclaimer
    /// The accepted sessions of every listener (the admin API's list and kick).
    let sessions: SessionDirectory
    /// The server's metrics, made once.
    let metrics: ServerMetrics
    /// What every deadline and timer of a connection is kept on.
    let clock: AnyTimerClock

    init(
        handshake: HandshakeConfiguration, registry: ServiceRegistry, logger: Logger, shutdownGracePeriod: Duration,
        maximumOutstandingRequests: Int, maximumFrameSize: Int, outbound: OutboundLimits, keepaliveInterval: Duration?,
        idleTimeout: Duration?, connectionIDs: ConnectionIDSource, transportKeys: TransportKeys, admission: Admission,
        live: LiveSettingsBox, memoryReclaimer: MemoryReclaimer, sessions: SessionDirectory, metrics: ServerMetrics,
        clock: AnyTimerClock
    ) {
        self.handshake = handshake
        self.registry = registry
        self.logger = logger
        self.shutdownGracePeriod = shutdownGracePeriod
        self.maximumOutstandingRequests = maximumOutstandingRequests
        self.maximumFrameSize = maximumFrameSize
        self.outbound = outbound
        self.keepaliveInterval = keepaliveInterval
        self.idleTimeout = idleTimeout
        self.connectionIDs = connectionIDs
        self.transportKeys = transportKeys
        self.admission = admission
        self.live = live
        self.memoryReclaimer = memoryReclaimer
        self.sessions = sessions
        self.metrics = metrics
        self.clock = clock
    }

    /// The handshake settings for a connection starting now: with the password and the
    /// wrong-password delay in force.
    var currentHandshake: HandshakeConfiguration {
        let live = live.current
        var handshake = handshake
        handshake.passwordDigest = live.passwordDigest
        handshake.wrongPasswordDelay = live.admission.penalties.wrongPasswordDelay
        return handshake
    }
}

/// Hands out connection ids, unique for the server's lifetime: `node << 40 | local`, `local`
/// counting from 1 (node 0, a server on its own: 1, 2, 3, …). Node-qualified ids never collide
/// between the servers sharing a chat store, and stay below 2^52 (safe in JavaScript numbers).
/// `local` takes 40 bits: at a thousand connections a second, 34 years of them.
final class ConnectionIDSource: Sendable {
    private let next = Atomic<UInt64>(1)
    private let node: UInt64

    /// The bits of an id that count connections; the node number is above them.
    static let localBits = 40
    /// The highest node number.
    static let maximumNode: UInt16 = 4095

    /// A source for node `node`, 0 to ``maximumNode``.
    init(node: UInt16 = 0) throws {
        guard node <= Self.maximumNode else {
            throw ConfigurationError(
                "node number \(node) is out of range; choose 1 to \(Self.maximumNode), or 0 for a server on its own")
        }
        self.node = UInt64(node) << Self.localBits
    }

    func make() -> UInt64 {
        node | next.wrappingAdd(1, ordering: .relaxed).oldValue & (1 << Self.localBits - 1)
    }
}
