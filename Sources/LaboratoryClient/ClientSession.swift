import LaboratoryCrypto
import LaboratoryProtocol
import LaboratoryTransport
import NIOCore
import NIOPosix

/// Something the server pushed to an accepted session.
public enum ClientEvent: Hashable, Sendable {
    /// An event from a service.
    case service(ServiceEvent)
    /// The server is shutting down and will close the session after this long.
    case serverStopping(gracePeriod: Duration)
    /// The session ended; the server's reason if it gave one. Always the last event.
    case closed(CloseReason?)
}

/// Client settings with sane defaults.
public struct ClientConfiguration: Sendable {
    /// How long to wait for the TCP connection. Default 10 seconds.
    public var connectTimeout: Duration = .seconds(10)
    /// How long the whole handshake may take. Default 30 seconds.
    public var handshakeTimeout: Duration = .seconds(30)
    /// The largest frame accepted from the server. Default 1 MiB.
    public var maximumFrameSize: Int = Frame.defaultMaximumPayloadByteCount
    /// Ask for an unencrypted session (sends an empty secret). Only servers started with
    /// `allowsPlaintext` accept it; everyone on the path can read the password and traffic.
    public var requestsPlaintext = false
    /// How far the server's clock may differ from ours when checking a transport key's validity
    /// window. Default 10 minutes.
    public var clockSkewTolerance: Duration = .seconds(600)
    /// The clock the session's timeouts and waits are kept on; tests inject one they move by hand.
    package var clock = AnyTimerClock.continuous

    /// The defaults.
    public init() {}
}

/// An accepted session with a Laboratory server.
///
/// ```swift
/// let session = try await ClientSession.connect(
///     host: "127.0.0.1", port: 12800, password: password, name: "ada",
///     trust: .knownHosts(file: "known_hosts"))
/// let reply = try await session.request(service: "echo", body: Array("hi".utf8))
/// await session.close()
/// ```
public final class ClientSession: Sendable {
    /// What the server said when it accepted us: connection id, server name, services.
    public let acceptance: Acceptance
    /// The server key's fingerprint, `SHA256:...`.
    public let serverFingerprint: String
    /// The display name the server accepted (the last one offered; see `retryName` in
    /// ``connect(host:port:password:name:trust:configuration:eventLoopGroup:retryName:)``).
    public let acceptedName: String
    /// Events the server pushes, ending with ``ClientEvent/closed(_:)``. Iterate it once.
    public let events: AsyncStream<ClientEvent>
    private let connection: ClientConnection
    /// The configuration's clock: the close timeout and the waits before retrying a request.
    let clock: AnyTimerClock

    private init(
        acceptance: Acceptance, serverFingerprint: String, acceptedName: String, events: AsyncStream<ClientEvent>,
        connection: ClientConnection, clock: AnyTimerClock
    ) {
        self.acceptance = acceptance
        self.acceptedName = acceptedName
        self.serverFingerprint = serverFingerprint
        self.events = events
        self.connection = connection
        self.clock = clock
    }

    /// Connects, checks the server's key, sends the password and name, and returns once accepted.
    /// A name the server rejects ends the connect with ``ClientError/Code/nameRejected``; to offer
    /// another on the same connection, use
    /// ``connect(host:port:password:name:trust:configuration:eventLoopGroup:retryName:)``.
    ///
    /// - Throws: ``ClientError`` naming the step that failed: ``ClientError/Code/connectionFailed``,
    ///   ``ClientError/Code/serverKeyMismatch`` (before anything is sent),
    ///   ``ClientError/Code/wrongPassword``, ``ClientError/Code/rejected`` (with
    ///   ``ClientError/retryAfter`` when the address is locked out),
    ///   ``ClientError/Code/nameRejected`` (with ``ClientError/nameRejection``),
    ///   ``ClientError/Code/handshakeTimeout``, ...
    public static func connect(
        host: String, port: Int, password: String, name: String, trust: ServerTrust,
        configuration: ClientConfiguration = ClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ClientSession {
        try await connect(
            host: host, port: port, password: password, name: name, trust: trust, configuration: configuration,
            eventLoopGroup: eventLoopGroup, retryName: nil)
    }

    /// Connects like ``connect(host:port:password:name:trust:configuration:eventLoopGroup:)``, and
    /// when the server rejects the display name, asks `retryName` for another.
    ///
    /// `retryName` is called when the server rejects the display name (it broke the name rules)
    /// and takes another on the same connection: it returns the next name to offer, or `nil` to
    /// give up. It may take its time (ask a person), within the handshake's deadlines. Without it,
    /// or on `nil`, the rejection ends the connect with ``ClientError/Code/nameRejected``; so does
    /// the server's close once its attempts are used up. Other failures throw as the plain
    /// `connect` does. ``acceptedName`` is the name the server took.
    public static func connect(
        host: String, port: Int, password: String, name: String, trust: ServerTrust,
        configuration: ClientConfiguration = ClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        retryName: (@Sendable (NameRejection) async -> String?)?
    ) async throws -> ClientSession {
        let maximumFrameSize = configuration.maximumFrameSize
        let asyncChannel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            asyncChannel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(Self.connectTimeAmount(configuration))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(FrameDecoder(maximumPayloadByteCount: maximumFrameSize)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            var failure = ClientError(
                .connectionFailed, step: .connecting, "could not connect to \(host):\(port): \(error)")
            failure.connectFailure = ConnectFailure(classifying: error)
            throw failure
        }
        let (events, continuation) = AsyncStream<ClientEvent>.makeStream()
        let connection = ClientConnection(
            channel: asyncChannel.channel,
            credentials: .init(
                password: password, name: name, trust: trust, endpoint: KnownHostsFile.endpoint(host: host, port: port),
                plaintext: configuration.requestsPlaintext,
                clockSkewMilliseconds: configuration.clockSkewTolerance.wholeMilliseconds, retryName: retryName),
            events: continuation)
        // The reader lives as long as the connection; close() ends it.
        Task { await connection.readLoop(asyncChannel) }
        // The handshake's deadline is a sleep on the configuration's clock, counted from the TCP
        // connection and raced against the acceptance: when it passes first, it fails the handshake
        // (which closes the socket); once the server has accepted, the abort does nothing.
        let timeout = configuration.handshakeTimeout
        let clock = configuration.clock
        let deadline = clock.now.advanced(by: timeout)
        let (acceptance, fingerprint) = try await withThrowingTaskGroup(of: (Acceptance, String)?.self) { group in
            group.addTask {
                try await clock.sleep(until: deadline, tolerance: nil)
                await connection.abort(
                    ClientError(.handshakeTimeout, step: .connecting, "the handshake took longer than \(timeout)"))
                return nil
            }
            group.addTask { try await connection.acceptance() }
            while let result = try await group.next() {
                if let result {
                    group.cancelAll()
                    return result
                }
            }
            // Unreachable: acceptance() either returns or throws, and the timeout makes it throw.
            throw ClientError(.handshakeTimeout, step: .connecting, "the handshake took longer than \(timeout)")
        }
        return ClientSession(
            acceptance: acceptance, serverFingerprint: fingerprint, acceptedName: await connection.displayName,
            events: events, connection: connection, clock: clock)
    }

    /// The connect timeout as NIO's bootstrap takes it, fractions of a second included.
    package static func connectTimeAmount(_ configuration: ClientConfiguration) -> TimeAmount {
        .nanoseconds(configuration.connectTimeout.clampedNanoseconds)
    }

    /// Calls a service and returns its response body. Many requests may be in flight at once.
    ///
    /// - Throws: ``ClientError/Code/requestFailed`` with the server's status and message, or
    ///   ``ClientError/Code/connectionClosed``.
    public func request(service: String, body: [UInt8]) async throws -> [UInt8] {
        try await connection.request(service: service, body: body)
    }

    /// Asks the server for its name.
    public func serverName() async throws -> String {
        try await connection.serverName()
    }

    /// Changes this session's display name. The server applies the same rules as at the
    /// handshake; services (chat rooms) see the new name once this returns.
    ///
    /// - Throws: ``ClientError/Code/requestFailed`` with status `rejected` and the rule broken.
    public func rename(to name: String) async throws {
        try await connection.rename(to: name)
    }

    /// Renews the session keys in both directions with a fresh secret. Requests and events in
    /// flight are unaffected: each side switches at a frame boundary (see `Docs/PROTOCOL.md`).
    public func rekey() async throws {
        try await connection.rekey()
    }

    /// Measures one round trip to the server.
    public func ping() async throws -> Duration {
        try await connection.ping()
    }

    /// Closes the socket at once, without `bye`: for a connection judged dead (no answer to a
    /// ping). The session ends as if the network had failed.
    package func abort() {
        connection.channel.close(promise: nil)
    }

    /// Says goodbye: the server answers outstanding requests, then closes. Waits at most five
    /// seconds for that before closing the socket itself.
    public func close() async {
        await connection.sayBye()
        let channel = connection.channel
        let deadline = clock.schedule(at: clock.now.advanced(by: .seconds(5)), on: channel.eventLoop) {
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        deadline.cancel()
    }
}
