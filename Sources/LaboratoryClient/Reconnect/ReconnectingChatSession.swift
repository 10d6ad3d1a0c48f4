import LaboratoryProtocol
import NIOCore
import NIOPosix
import Synchronization

/// A chat session that survives lost connections: after a network cut or a server restart it
/// reconnects with exponential backoff and jitter (``ReconnectPolicy``), joins its rooms again
/// with `after` set to the last sequence number it delivered in each, and delivers each missed
/// event once, in order (`Docs/PROTOCOL.md`, §17, *Reconnecting and resuming*).
///
/// ```swift
/// let chat = try await ReconnectingChatSession.connect(
///     host: "127.0.0.1", port: 12800, password: password, name: "ada",
///     trust: .knownHosts(file: "known_hosts"))
/// _ = try await chat.join("lobby")
/// for await update in chat.updates {
///     switch update {
///     case .chat(let event): print(event.name, event.text ?? "")
///     case .reconnecting(let delay, _, _): print("reconnecting in \(delay)")
///     case .resumed(let resumption): print("reconnected; \(resumption.missedMessages) missed messages")
///     case .ended: return
///     default: break
///     }
/// }
/// ```
///
/// It does not reconnect after a close that forbids it (kicked, wrong password, a rejected
/// name, ...), nor to a server whose key differs from the first one's, and waits at least as long
/// as a lockout's `retry_ms`. Requests made while the connection is down fail with
/// ``ClientError/Code/connectionClosed``; they are not repeated by themselves (a `say` may have
/// been delivered before the connection failed). Only the rooms joined through ``join(_:)`` (or
/// ``chat(_:)``) are resumed.
public actor ReconnectingChatSession {
    /// A change the application may show: an event, or the connection's state.
    public enum Update: Sendable {
        /// A chat event: each once, in order per room, missed ones included.
        case chat(ChatEvent)
        /// Something else the server pushed: other services' events, the server's stopping
        /// notice. Never ``ClientEvent/closed(_:)``: see ``disconnected(_:)`` and ``ended(_:)``.
        case event(ClientEvent)
        /// The connection was lost; the server's reason if it gave one. A ``reconnecting(in:attempt:after:)``
        /// or an ``ended(_:)`` follows.
        case disconnected(CloseReason?)
        /// The next attempt, number `attempt` since the loss, starts after `delay`; `after` is the
        /// previous attempt's failure (`nil` for the first attempt).
        case reconnecting(in: Duration, attempt: Int, after: ClientError?)
        /// A new connection was accepted and every room resumed; the missed events have been
        /// delivered (as ``chat(_:)``) before this.
        case resumed(Resumption)
        /// Events `from...to` of `room` were no longer held by the server: lost to this client.
        case missedHistory(room: String, from: UInt64, to: UInt64)
        /// The room's numbering started again (the server restarted with its history in memory):
        /// what was said there while the connection was down may be missing.
        case numberingRestarted(room: String)
        /// The server refused to let the session back into `room`; it is no longer resumed.
        case rejoinFailed(room: String, error: ClientError)
        /// The session is over; the last update.
        case ended(Ending)
    }

    /// A successful reconnection.
    public struct Resumption: Hashable, Sendable {
        /// The new connection's id (the server gives each connection its own).
        public var connectionID: UInt64
        /// The rooms joined again.
        public var rooms: [String]
        /// The `message` events said while the connection was down, now delivered.
        public var missedMessages: Int
        /// How many attempts it took.
        public var attempts: Int

        package init(connectionID: UInt64, rooms: [String], missedMessages: Int, attempts: Int) {
            self.connectionID = connectionID
            self.rooms = rooms
            self.missedMessages = missedMessages
            self.attempts = attempts
        }
    }

    /// Why the session ended.
    public enum Ending: Hashable, Sendable {
        /// ``close()`` was called.
        case closedByUser
        /// The connection was lost and not reconnected: the server's close forbids it (kicked,
        /// ...), or the policy allows no attempt. The server's reason if it gave one.
        case lost(CloseReason?)
        /// The last attempt to reconnect failed with this error, and no other is made: the
        /// failure is final (wrong password, a different server key, ...) or the policy's attempts
        /// are used up.
        case gaveUp(ClientError)
    }

    /// Settings of a reconnecting session.
    public struct Configuration: Sendable {
        /// The backoff between attempts. Default: 0.5 s doubling to 30 s, never giving up.
        public var policy = ReconnectPolicy()
        /// A ping is sent after this much time without one answered; if it is not answered within
        /// the same time, the connection counts as lost (a silent network cut sends no reset).
        /// `nil` turns it off. Default 15 seconds.
        public var livenessInterval: Duration? = .seconds(15)
        /// The name of the chat service. Default `chat`.
        public var service = "chat"

        /// The defaults.
        public init() {}
    }

    /// Opens a new connection offering `name`; throws ``ClientError`` like ``ClientSession``.
    public typealias Connector = @Sendable (_ name: String) async throws -> ClientSession

    /// The changes to show, in order, ending with ``Update/ended(_:)``. Iterate it once.
    public nonisolated let updates: AsyncStream<Update>
    private let continuation: AsyncStream<Update>.Continuation
    private let connector: Connector
    private let configuration: Configuration
    private let current: Mutex<ClientSession>
    private var name: String
    private var ledger = ChatResumeLedger()
    private var machine: ReconnectMachine
    private var closedByUser = false
    private var ended = false
    private var sleeper: Task<Void, any Error>?
    private var attemptsToResume = 0
    /// The new connection whose rooms are being resumed, until the resumption is announced.
    private var resuming: ObjectIdentifier?

    /// Connects once (a failure throws, as ``ClientSession/connect(host:port:password:name:trust:configuration:eventLoopGroup:)``
    /// does) and returns a session that reconnects to the same server: the same password and
    /// the current display name, trusting only the key the first connection met.
    public static func connect(
        host: String, port: Int, password: String, name: String, trust: ServerTrust,
        configuration: Configuration = Configuration(),
        clientConfiguration: ClientConfiguration = ClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ReconnectingChatSession {
        let first = try await ClientSession.connect(
            host: host, port: port, password: password, name: name, trust: trust,
            configuration: clientConfiguration, eventLoopGroup: eventLoopGroup)
        let pinned = ServerTrust.pinned(fingerprint: first.serverFingerprint)
        return ReconnectingChatSession(session: first, configuration: configuration) { name in
            try await ClientSession.connect(
                host: host, port: port, password: password, name: name, trust: pinned,
                configuration: clientConfiguration, eventLoopGroup: eventLoopGroup)
        }
    }

    /// Wraps an accepted `session`; `connector` opens each new connection (it should pin the
    /// first session's ``ClientSession/serverFingerprint``).
    public init(session: ClientSession, configuration: Configuration = Configuration(), connector: @escaping Connector)
    {
        (updates, continuation) = AsyncStream<Update>.makeStream()
        self.connector = connector
        self.configuration = configuration
        current = Mutex(session)
        name = session.acceptedName
        machine = ReconnectMachine(policy: configuration.policy)
        Task { await self.run(first: session) }
    }

    /// The current connection (the last one accepted; while reconnecting, the lost one, whose
    /// requests fail).
    public nonisolated var session: ClientSession { current.withLock { $0 } }

    // MARK: Chat

    /// Joins `room` (nothing is replayed); it will be resumed after each reconnection.
    public func join(_ room: String) async throws -> ChatReply {
        try await chat(.join(room: room, after: nil))
    }

    /// Leaves `room`; it is no longer resumed.
    public func leave(_ room: String) async throws {
        _ = try await chat(.leave(room: room))
    }

    /// Sends a chat request on the current connection. `join` and `leave` change the rooms
    /// resumed after a reconnection.
    public func chat(_ request: ChatRequest) async throws -> ChatReply {
        let session = self.session
        switch request {
        case .join(let room, _):
            ledger.joining(room)
            do {
                let reply = try await session.chat(request, service: configuration.service)
                ledger.joined(room, reply: reply)
                return reply
            } catch {
                ledger.joinFailed(room)
                throw error
            }
        case .leave(let room):
            let reply = try await session.chat(request, service: configuration.service)
            ledger.left(room)
            return reply
        default:
            return try await session.chat(request, service: configuration.service)
        }
    }

    /// Changes the display name, also for later reconnections.
    public func rename(to newName: String) async throws {
        try await session.rename(to: newName)
        name = newName
    }

    /// The rooms resumed after a reconnection, in the order they were joined.
    public var rooms: [String] { ledger.memberships }

    /// Ends the session: says bye on the current connection and stops reconnecting.
    public func close() async {
        closedByUser = true
        sleeper?.cancel()
        await session.close()
        finish(.closedByUser)
    }

    // MARK: The connection loop

    private func run(first: ClientSession) async {
        var session = first
        while true {
            let reason = await consume(session)
            if closedByUser || ended { return finish(.closedByUser) }
            continuation.yield(.disconnected(reason))
            var verdict = ReconnectMachine.verdict(afterClose: reason)
            var failure: ClientError?
            attempting: while true {
                switch machine.failed(verdict, random: Double.random(in: 0..<1)) {
                case .giveUp:
                    return finish(failure.map(Ending.gaveUp) ?? .lost(reason))
                case .wait(let delay, let attempt):
                    continuation.yield(.reconnecting(in: delay, attempt: attempt, after: failure))
                    let sleep = Task { try await Task.sleep(for: delay) }
                    sleeper = sleep
                    _ = try? await sleep.value
                    sleeper = nil
                    if closedByUser { return finish(.closedByUser) }
                }
                do {
                    session = try await connector(name)
                    break attempting
                } catch {
                    let clientError =
                        error as? ClientError
                        ?? ClientError(.connectionFailed, step: .connecting, "could not reconnect: \(error)")
                    failure = clientError
                    verdict = ReconnectMachine.verdict(afterConnectFailure: clientError)
                }
            }
            if closedByUser {
                await session.close()
                return finish(.closedByUser)
            }
            current.withLock { $0 = session }
            attemptsToResume = machine.attempts
            let resumed = session
            Task { await self.resume(on: resumed) }
        }
    }

    /// Handles `session`'s events until it ends; returns the server's reason, if any.
    private func consume(_ session: ClientSession) async -> CloseReason? {
        let liveness = configuration.livenessInterval.map { interval in
            Task { await Self.watch(session, every: interval) }
        }
        defer { liveness?.cancel() }
        for await event in session.events {
            switch event {
            case .closed(let reason):
                return reason
            case .service(let serviceEvent):
                if let chatEvent = ChatEvent(serviceEvent, service: configuration.service) {
                    if let delivered = ledger.receive(chatEvent) { continuation.yield(.chat(delivered)) }
                    completeResumptionIfDone(on: session)
                } else {
                    continuation.yield(.event(event))
                }
            case .serverStopping:
                continuation.yield(.event(event))
            }
        }
        return nil
    }

    /// Joins the rooms again on a new connection, each after the last number delivered.
    private func resume(on session: ClientSession) async {
        let joins = ledger.beginResumption()
        resuming = ObjectIdentifier(session)
        for (room, after) in joins {
            guard self.session === session else { return }
            do {
                let reply = try await rejoin(room, after: after, on: session)
                let (deliver, notices) = ledger.resumed(room, after: after, reply: reply)
                for notice in notices {
                    switch notice {
                    case .missed(let room, let from, let to):
                        continuation.yield(.missedHistory(room: room, from: from, to: to))
                    case .numberingRestarted(let room):
                        continuation.yield(.numberingRestarted(room: room))
                    }
                }
                for event in deliver { continuation.yield(.chat(event)) }
            } catch let error as ClientError where error.code == .requestFailed {
                ledger.resumeFailed(room)
                continuation.yield(.rejoinFailed(room: room, error: error))
            } catch {
                // The new connection failed too: its end starts the next attempt.
                return
            }
        }
        completeResumptionIfDone(on: session)
    }

    /// Sends one resuming `join`; over the membership rate limit, waits as long as the server
    /// says and sends it again.
    private func rejoin(_ room: String, after: UInt64, on session: ClientSession) async throws -> ChatReply {
        while true {
            do {
                return try await session.chat(.join(room: room, after: after), service: configuration.service)
            } catch let error as ClientError where error.code == .requestFailed && error.retryAfter != nil {
                try await Task.sleep(for: error.retryAfter ?? .zero)
            }
        }
    }

    /// Announces the resumption once every room's reply has come and the missed events before
    /// it are delivered.
    private func completeResumptionIfDone(on session: ClientSession) {
        guard resuming == ObjectIdentifier(session), self.session === session, ledger.isResumptionComplete else {
            return
        }
        resuming = nil
        machine.resumed()
        continuation.yield(
            .resumed(
                Resumption(
                    connectionID: session.acceptance.connectionID, rooms: ledger.memberships,
                    missedMessages: ledger.missedMessages, attempts: attemptsToResume)))
    }

    private func finish(_ ending: Ending) {
        guard !ended else { return }
        ended = true
        continuation.yield(.ended(ending))
        continuation.finish()
    }

    /// Pings `session` every `interval`; one unanswered for `interval` closes the connection,
    /// which counts as lost.
    private static func watch(_ session: ClientSession, every interval: Duration) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            // The ping's answer never comes on a dead path; the deadline then closes the socket,
            // which fails the ping.
            let deadline = Task {
                try await Task.sleep(for: interval)
                session.abort()
            }
            let answered = (try? await session.ping()) != nil
            deadline.cancel()
            guard answered else { return }
        }
    }
}
