/// An extra way in to a ``LaboratoryServer``, served alongside its TCP listener: another
/// transport for the same protocol, or another protocol reaching the same services.
///
/// Two kinds of listener plug in here:
/// - a gateway that carries the same encrypted protocol over another transport (for example
///   protocol frames inside WebSocket messages): its sessions are the server's own, in the same
///   chat rooms as TCP sessions;
/// - a listener for another wire format that translates its clients' requests into calls to the
///   server's services (``LaboratoryListenerContext/services``), so its clients too meet TCP
///   sessions in the same chat rooms.
///
/// The parts of ``LaboratoryListenerContext`` that run a session the way the server's own TCP
/// listener does (admission and penalties, the password check, the transport key, calling a service
/// by request) are `package` for now: the listeners that use them (`LegacyListener`, and the
/// WebSocket gateway to come) live in this package.
///
/// Pass listeners to ``LaboratoryServer/init(configuration:services:listeners:logger:eventLoopGroup:)``.
/// The server drives each in two steps, like a ServiceLifecycle `Service` whose binding is split
/// off so that a failure to bind is a failure to start:
/// 1. ``bind(context:)`` before the server reports that it is listening: open the socket (or
///    whatever accepts), but do not accept yet. If it throws, the server does not start: it then
///    calls ``run(_:context:)`` for listeners already bound in a cancelled task, which must close
///    what `bind` opened and return.
/// 2. ``run(_:context:)`` in a child task of the server's `run()`: accept and serve until the
///    server shuts down. Because it runs inside the server's task, ServiceLifecycle's graceful
///    shutdown reaches it (`withGracefulShutdownHandler`, `gracefulShutdown()`): then stop
///    accepting, tell open sessions, let them finish within
///    ``LaboratoryListenerContext/shutdownGracePeriod``, close the rest, and return once every
///    connection has ended. On cancellation, end everything at once.
///
/// The server's `run()` returns only after every listener's `run` has returned, and rethrows the
/// first error one threw. A listener whose `run` throws while the server is serving is logged at
/// `error` at once and stops; the TCP listener and the other listeners keep serving until the
/// server shuts down, and the server then rethrows that error. The listeners of this package send
/// each accepted connection through the same admission as the server's own, so the connection
/// limits and penalties count every way in together (that part of ``LaboratoryListenerContext`` is
/// `package`).
public protocol LaboratoryListener: Sendable {
    /// What ``bind(context:)`` opened and ``run(_:context:)`` serves (for example the bound
    /// server channel).
    associatedtype Bound: Sendable

    /// Opens the listener without accepting yet. Called once, before the server reports that it
    /// is listening.
    func bind(context: LaboratoryListenerContext) async throws -> Bound

    /// Accepts and serves connections until the server's graceful shutdown or cancellation;
    /// returns once every connection it accepted has ended.
    func run(_ bound: Bound, context: LaboratoryListenerContext) async throws
}
