@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOCore

/// What a ``LaboratoryListener`` gets from the server it serves: the server's services (and so its
/// chat rooms and other shared state), its logger, event loops and shutdown grace period, and a
/// connection id for every connection it accepts.
///
/// A listener's sessions are the server's sessions: they call the same ``ServiceRegistry`` the TCP
/// sessions call, so a chat room holds members from every listener. Connection ids come from the
/// same counter, so an id names one connection whichever way it came in.
public struct LaboratoryListenerContext: Sendable {
    /// The server's logger. Attach the connection id to the copy each connection logs with.
    public let logger: Logger
    /// The server's services, shared with its TCP sessions.
    public let services: ServiceRegistry
    /// The event loops the server runs on; bind on them.
    public let eventLoopGroup: any EventLoopGroup
    /// How long sessions may go on after a graceful shutdown begins before they are closed.
    public var shutdownGracePeriod: Duration { environment.shutdownGracePeriod }
    /// The name the server shows its clients.
    public var serverName: String { environment.handshake.serverName }

    let environment: ConnectionEnvironment

    init(environment: ConnectionEnvironment, eventLoopGroup: any EventLoopGroup) {
        self.environment = environment
        self.logger = environment.logger
        self.services = environment.registry
        self.eventLoopGroup = eventLoopGroup
    }

    /// A new connection id, unique for the server's lifetime among the connections of every
    /// listener.
    public func makeConnectionID() -> UInt64 { environment.connectionIDs.make() }

    /// Calls the service `request` names on behalf of `session`, as a TCP session's request would
    /// be, and returns its response (an error response if the service is unknown or fails).
    /// Events the service pushes to the session, now or later, go to `events`.
    /// `package` for now: `Request` and `Response` are not public API.
    package func respond(to request: Request, session: SessionIdentity, events: EventSink, logger: Logger? = nil) async
        -> Response
    {
        let started = ContinuousClock.now
        var context = LaboratoryServiceContext(
            session: session, logger: logger ?? self.logger, serviceName: request.service, events: events)
        context.metrics = environment.metrics
        let response = await services.respond(to: request, context: context)
        environment.metrics.requestAnswered(service: request.service, status: response.status, after: .now - started)
        return response
    }

    // Admission, the password and the transport key: for the listeners of this package.

    /// Admits a connection from `source` (its IP address) against the same limits as the server's
    /// TCP connections, or says why it is refused. Call ``closed(_:)`` when an admitted one ends.
    package func admit(source: String) -> AdmissionOutcome { environment.admission.admit(source: source) }

    /// How to end `ticket`'s connection if a newcomer evicts its unfinished handshake.
    package func onEviction(_ ticket: AdmissionTicket, _ handler: @escaping @Sendable (CloseReason) -> Void) {
        environment.admission.onEviction(ticket, handler)
    }

    /// The connection finished its handshake: it no longer holds an unfinished-handshake slot.
    package func authenticated(_ ticket: AdmissionTicket) { environment.admission.authenticated(ticket) }

    /// Charges the connection's source the penalty that ending for `reason` earns, if any.
    package func penalize(_ ticket: AdmissionTicket, for reason: CloseReason, wasAuthenticated: Bool) {
        environment.admission.penalize(ticket, for: reason, wasAuthenticated: wasAuthenticated)
    }

    /// The server's metrics, for a listener's own handshakes, sessions and bytes (admission,
    /// penalties and ``respond(to:session:events:logger:)`` already count theirs).
    package var metrics: ServerMetrics { environment.metrics }

    /// Returns once every connection the server admitted, through any listener, has ended (at once
    /// if none is open), or when the calling task is cancelled. During a graceful shutdown this is
    /// the moment the server's sessions have all finished: the HTTP listener serves `/ready` (503)
    /// until then.
    package func allConnectionsEnded() async { await environment.admission.allClosed() }

    /// The connection has ended: it leaves the admission counts.
    package func closed(_ ticket: AdmissionTicket) {
        environment.admission.closed(ticket)
        environment.memoryReclaimer.connectionEnded()
    }

    /// The server's accepted sessions, of every listener: a listener adds each session it accepts
    /// (so the admin API lists and can kick it) and removes it when it ends.
    package var sessions: SessionDirectory { environment.sessions }

    /// Refuses new connections from `pattern` (an address or an IPv4/IPv6 CIDR block) on every
    /// listener for `duration`, with code 15 (refused); returns false if `pattern` is neither or
    /// the ban list is full.
    package func ban(_ pattern: String, for duration: Duration) -> Bool {
        environment.admission.ban(pattern, for: duration)
    }

    /// The reason admission gives a banned source's connections (code 15, refused).
    package static var bannedReason: CloseReason { Admission.bannedReason }

    /// The bans in force, with how long each has left.
    package var bans: [(pattern: String, remaining: Duration)] { environment.admission.bans }

    /// How long until `source` may connect again, if it is banned or locked out by penalties
    /// (an HTTP listener's `Retry-After`).
    package func refusalRemaining(for source: String) -> Duration? {
        environment.admission.refusalRemaining(for: source)
    }

    /// Whether `password` is the server's password in force (compared in constant time).
    package func isServerPassword(_ password: String) -> Bool {
        constantTimeEquals(SHA256.hash(Array(password.utf8)), environment.live.current.passwordDigest)
    }

    /// How long a connection that gave a wrong password is held before it is closed.
    package var wrongPasswordDelay: Duration { environment.live.current.admission.penalties.wrongPasswordDelay }

    /// The server's clock, for a listener's deadlines and delays (a test clock in tests).
    package var clock: AnyTimerClock { environment.clock }

    /// Offers the server's current transport key to one new connection: each call counts one
    /// handshake against the key's rotation budget, so call it once per connection.
    package func offerTransportKey() -> RSAPrivateKey { environment.transportKeys.offer().privateKey }
}

extension AdmissionTicket {
    /// The connection's source address, as written in logs and session identities.
    package var remoteAddress: String { source.description }
}
