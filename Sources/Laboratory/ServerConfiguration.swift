import CoreMetrics
import LaboratoryCrypto
import LaboratoryProtocol
import LaboratoryTransport

/// How a ``LaboratoryServer`` listens and what it asks of clients.
public struct ServerConfiguration: Sendable {
    /// The address to bind. Defaults to loopback only.
    public var host: String = "127.0.0.1"
    /// The TCP port; 0 picks a free one (read it back with ``LaboratoryServer/listeningAddress()``).
    /// Defaults to 12800.
    public var port: Int = 12800
    /// The name sent to accepted clients and returned by the server-name query.
    public var serverName: String = "Laboratory"
    /// The server's long-term identity key; clients pin its fingerprint. It signs the short-lived
    /// transport keys and never decrypts anything.
    public var hostKey: RSAPrivateKey
    /// How long each handshake step may take, from the moment it begins. Default 10 seconds.
    public var handshakeStepTimeout: Duration = .seconds(10)
    /// How long the whole handshake may take from the moment of connection, however the client
    /// paces its bytes. Default 30 seconds.
    public var handshakeTimeout: Duration = .seconds(30)
    /// After this long without any frame from an accepted client, the server pings it; `nil`
    /// turns keepalive off. Default 30 seconds.
    public var keepaliveInterval: Duration? = .seconds(30)
    /// An accepted client that sends nothing, not even a pong, for this long is disconnected;
    /// `nil` turns the idle timeout off. Default 90 seconds.
    public var idleTimeout: Duration? = .seconds(90)
    /// Who may connect: connection caps, early drop of unfinished handshakes, per-source limits
    /// and penalties.
    public var admission = AdmissionPolicy()
    /// When the short-lived transport keys are replaced.
    public var transportKeys = TransportKeyPolicy()
    /// The largest frame payload accepted, checked before anything is allocated. Default 1 MiB.
    public var maximumFrameSize: Int = Frame.defaultMaximumPayloadByteCount
    /// How long accepted sessions may finish after the server announces it is stopping. Default 5 s.
    public var shutdownGracePeriod: Duration = .seconds(5)
    /// How many requests one session may have in progress at once; more get a `rejected` response.
    public var maximumOutstandingRequests: Int = 64
    /// The bounded outbound queue per session (slow consumers are disconnected) and when keys are
    /// renewed.
    public var outbound = OutboundLimits()
    /// Lets a client choose an unencrypted session by sending an empty secret: its password and
    /// traffic then travel in the clear. Off by default; the server logs a warning at start and for
    /// every such session.
    public var allowsPlaintext: Bool = false
    /// After bursts of ended connections, give the memory they freed back to the system
    /// (`malloc_trim` on glibc; nothing elsewhere), so a flood does not leave the process larger
    /// for good. On by default; turn it off if the embedding process manages its allocator itself.
    public var reclaimsFreedMemory: Bool = true
    /// Where the server reports its metrics (connections, handshakes, sessions, requests, chat,
    /// traffic, penalties; the list is in Docs/HTTP.md): any swift-metrics back end. `nil`, the
    /// default, uses the global one (`MetricsSystem.factory` when the server is created), which
    /// reports nowhere until the executable calls `MetricsSystem.bootstrap`. Give each server its
    /// own factory (for example a `PrometheusMetricsFactory` over a registry of its own) to keep
    /// servers in one process apart, as tests do.
    public var metricsFactory: (any MetricsFactory)?
    /// The clock connections keep their deadlines and timers on; tests inject one they move by hand.
    package var clock = AnyTimerClock.continuous
    /// This server's number among the servers sharing a chat store, 1 to 4,095; 0 (the default)
    /// for a server on its own. Connection ids are then `nodeNumber << 40 | n` (n counting from
    /// 1), so two servers' sessions never share an id in the rooms they share. A number out of
    /// range fails ``LaboratoryServer/run()`` with a ``ConfigurationError``. Set it to the
    /// ``ChatStore/node`` of the store its ``ChatService`` uses.
    public var nodeNumber: UInt16 = 0

    let passwordDigest: [UInt8]

    /// Creates a configuration.
    ///
    /// - Throws: ``ConfigurationError`` if the password is empty or is the well-known default
    ///   `PASSWORD`.
    public init(hostKey: RSAPrivateKey, password: String) throws {
        try Self.validate(password: password)
        self.hostKey = hostKey
        self.passwordDigest = SHA256.hash(Array(password.utf8))
    }

    /// Throws unless `password` is acceptable as a server password.
    public static func validate(password: String) throws {
        if password.isEmpty { throw ConfigurationError("the server password is empty; choose a strong one") }
        if password.utf8.count > Frame.maximumPasswordByteCount {
            throw ConfigurationError(
                "the server password is \(password.utf8.count) bytes long; the protocol allows at most \(Frame.maximumPasswordByteCount) bytes of UTF-8"
            )
        }
        if password == "PASSWORD" {
            throw ConfigurationError(
                "the server password is the well-known default \"PASSWORD\"; choose a strong one")
        }
    }
}

/// A configuration that cannot be used, and why.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong and what to do about it.
    public var message: String

    /// Creates an error with the message shown to the operator.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
