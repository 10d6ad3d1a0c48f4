import Laboratory
import LaboratoryProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A ``ChatBackplane`` in PostgreSQL, shared by every node (server process) on one database:
/// events are rows numbered per room in the inserting transaction, history is read from the
/// table, subscriptions are woken by `NOTIFY` and read the table, and presence is a table of
/// members per node, kept honest by heartbeats.
///
/// ``connect(configuration:logger:)`` applies the migrations and registers the node (its
/// ``node`` number qualifies the server's connection ids); ``run()``, a ServiceLifecycle
/// service, keeps it alive until graceful shutdown, then removes the node (its remaining members
/// leave, with their `left` events). A node cancelled instead, or killed, is dropped by the other
/// nodes once its heartbeats stop for ``ChatStoreConfiguration/nodeTimeout``.
///
/// Each node has one connection that `LISTEN`s on one channel for every room; a notification
/// carries only a room id and a number. It only wakes the node: on every wake-up, after every
/// (re)connection of the listener and at every heartbeat, the node reads each subscribed room's
/// table from the last number it delivered, so a lost notification or connection loses nothing.
/// A call made while the database is unreachable throws a ``ChatStoreError``; the listener
/// reconnects with exponential backoff.
package final class PostgresChatBackplane: ChatBackplane, Service {
    /// This node's number, 1...4095: the top bits of its connection ids.
    package let node: UInt16
    private let client: PostgresClient
    private let configuration: ChatStoreConfiguration
    private let logger: Logger
    private let feeds: ChatBackplaneFeeds

    private init(node: UInt16, configuration: ChatStoreConfiguration, logger: Logger) {
        self.node = node
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "chat-node"] = "\(node)"
        self.logger = logger
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        self.feeds = ChatBackplaneFeeds(buffer: configuration.subscriptionBuffer)
    }

    /// Connects to the database, applies the migrations it lacks (under an advisory lock, so
    /// nodes starting together apply them once), drops nodes that stopped heartbeating and
    /// registers this node under the lowest free number. Call ``run()`` next.
    ///
    /// - Throws: ``ChatStoreError`` when the database cannot be reached or refuses (at once: one
    ///   connection attempt, not the pool's retries).
    package static func connect(configuration: ChatStoreConfiguration, logger: Logger) async throws
        -> PostgresChatBackplane
    {
        let node = try await unavailable("connecting to \(configuration.host):\(configuration.port)") {
            let connection = try await PostgresConnection.connect(
                configuration: configuration.connectionConfiguration, id: 0, logger: logger)
            do {
                try await ChatStoreMigrations.apply(on: connection, logger: logger)
                let node = try await ChatBackplaneNodes.register(
                    timeout: configuration.nodeTimeout, on: connection, logger: logger)
                try? await connection.close()
                return node
            } catch {
                try? await connection.close()
                throw error
            }
        }
        logger.info("chat node registered", metadata: ["chat-node": "\(node)"])
        return PostgresChatBackplane(node: node, configuration: configuration, logger: logger)
    }

    /// Runs the node: its connection pool, listener, deliveries, heartbeats and pruning. On
    /// graceful shutdown, removes the node (its members leave) and returns; on cancellation,
    /// returns without removing it (the other nodes drop it after the timeout).
    package func run() async { await run(beforeRemoving: {}) }

    /// ``run()``, calling `beforeRemoving` once the node's background work has stopped (on
    /// graceful shutdown and on cancellation), before the node is removed.
    package func run(beforeRemoving: @Sendable () async -> Void) async {
        // Detached: `PostgresClient.run()` ends at graceful shutdown by itself, and the pool must
        // outlive it here long enough to remove the node.
        let pool = Task.detached { await self.client.run() }
        defer { pool.cancel() }
        let graceful = await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen() }
            group.addTask { await self.deliver() }
            group.addTask { await self.heartbeats() }
            group.addTask { await self.prunes() }
            let graceful = (try? await gracefulShutdown()) != nil
            // Heartbeats end before the node is removed: one after would take its number back.
            group.cancelAll()
            return graceful
        }
        feeds.finishAll()
        await beforeRemoving()
        guard graceful, !Task.isCancelled else { return }
        do {
            let left = try await call("remove chat node \(node)") { connection in
                try await ChatBackplaneNodes.unregister(self.node, on: connection, logger: self.logger)
            }
            logger.info("chat node removed", metadata: ["members-left": "\(left)"])
        } catch {
            logger.error("could not remove the chat node", metadata: ["error": "\(Self.describe(error))"])
        }
    }

    // MARK: - ChatBackplane

    package func append(_ event: ChatEvent, to room: String) async throws -> ChatBackplaneEntry {
        try await call("append to room \(room)") { connection in
            try await ChatBackplaneStatements.append(event, to: room, on: connection, logger: self.logger)
        }
    }

    package func history(of room: String, after sequence: UInt64) async throws -> ChatHistory {
        try await call("history of room \(room)") { connection in
            try await ChatBackplaneStatements.history(
                of: room, after: sequence, historySize: self.configuration.historySize,
                historyAge: self.configuration.historyAge, on: connection, logger: self.logger)
        }
    }

    package func subscribe(to room: String) async throws -> ChatSubscription {
        let (id, latest) = try await call("subscribe to room \(room)") { connection in
            try await ChatBackplaneStatements.openRoom(room, on: connection, logger: self.logger)
        }
        return feeds.subscribe(room: room, roomID: id, latest: latest)
    }

    package func join(_ member: UInt64, name: String, room: String) async throws {
        try await call("join room \(room)") { connection in
            try await ChatBackplaneStatements.join(
                member, name: name, room: room, node: self.node, on: connection, logger: self.logger)
        }
    }

    @discardableResult
    package func leave(_ member: UInt64, room: String) async throws -> Bool {
        try await call("leave room \(room)") { connection in
            try await ChatBackplaneStatements.leave(member, room: room, on: connection, logger: self.logger)
        }
    }

    package func members(of room: String) async throws -> [ChatMember] {
        try await call("list the members of room \(room)") { connection in
            try await ChatBackplaneStatements.members(of: room, on: connection, logger: self.logger)
        }
    }

    /// Up to `limit` rooms whose names sort after `after` in code-point order (from the first
    /// without it), empty ones included, with their member counts on every node, and the cursor
    /// (the last name) when more follow.
    package func rooms(after: String?, limit: Int) async throws -> (rooms: [ChatRoomSummary], next: String?) {
        try await call("list rooms") { connection in
            try await ChatBackplaneStatements.rooms(after: after, limit: limit, on: connection, logger: self.logger)
        }
    }

    /// Deletes what retention no longer keeps now (``run()`` does it every
    /// ``ChatStoreConfiguration/pruneInterval``); returns how many events.
    @discardableResult
    package func prune() async throws -> Int {
        try await call("prune history") { connection in
            try await ChatBackplaneStatements.prune(
                historySize: self.configuration.historySize, historyAge: self.configuration.historyAge,
                on: connection, logger: self.logger)
        }
    }

    /// Drops the nodes that stopped heartbeating now (``run()`` does it at every heartbeat);
    /// returns their numbers.
    @discardableResult
    package func reapDeadNodes() async throws -> [UInt16] {
        try await call("drop dead nodes") { connection in
            try await ChatBackplaneNodes.reapDead(
                timeout: self.configuration.nodeTimeout, on: connection, logger: self.logger)
        }
    }

    // MARK: - Background work

    /// The node's one listening connection: wakes the deliveries for each notification, and for
    /// every subscribed room after each (re)connection; reconnects with exponential backoff.
    private func listen() async {
        var delay = configuration.reconnectDelay
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration, id: attempt, logger: logger)
                do {
                    // Closing the connection is what ends the notifications when the node stops.
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: ChatBackplaneStatements.channel) { notifications in
                            // Listening first, then reading: whatever commits after the reads is notified.
                            delay = configuration.reconnectDelay
                            feeds.markDirty()
                            for try await notification in notifications {
                                let roomID = notification.payload.split(separator: " ").first.flatMap { Int64($0) }
                                if let roomID { feeds.notified(roomID: roomID) }
                            }
                        }
                    } onCancel: {
                        _ = connection.close() as EventLoopFuture<Void>
                    }
                    try? await connection.close()
                } catch {
                    try? await connection.close()
                    throw error
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "chat store listener lost its connection; reconnecting",
                    metadata: ["error": "\(Self.describe(error))", "delay": "\(delay)"])
            }
            do { try await Task.sleep(for: delay) } catch { break }
            delay = min(delay * 2, configuration.maximumReconnectDelay)
        }
    }

    /// Reads the marked rooms' new rows and delivers them, one room at a time, until cancelled.
    private func deliver() async {
        for await _ in feeds.wakeups {
            var pending = feeds.takeDirty()
            while !pending.isEmpty, !Task.isCancelled {
                for room in pending {
                    do {
                        let entries = try await call("read the new events of room \(room.room)") {
                            [self] connection in
                            try await ChatBackplaneStatements.entries(
                                ofRoom: room.roomID, after: room.after, limit: configuration.catchUpBatchSize,
                                on: connection, logger: logger)
                        }
                        feeds.deliver(entries, to: room.room)
                        if entries.count == configuration.catchUpBatchSize { feeds.markDirty([room.room]) }
                    } catch {
                        if Task.isCancelled { return }
                        // The store is down: try again after a pause (the listener's reconnection
                        // marks every room again too).
                        logger.warning(
                            "could not read a chat room's new events; retrying",
                            metadata: ["room": "\(room.room)", "error": "\(Self.describe(error))"])
                        feeds.markDirty([room.room])
                        try? await Task.sleep(for: configuration.reconnectDelay)
                    }
                }
                pending = feeds.takeDirty()
            }
            if Task.isCancelled { return }
        }
    }

    /// Every ``ChatStoreConfiguration/heartbeatInterval``: records that this node is alive, drops
    /// nodes that stopped, and checks that no subscribed room has numbers this node has not read
    /// (a notification lost without the connection dropping).
    private func heartbeats() async {
        while !Task.isCancelled {
            do {
                try await call("heartbeat of chat node \(node)") { [self] connection in
                    try await ChatBackplaneNodes.heartbeat(node, on: connection, logger: logger)
                    try await ChatBackplaneNodes.reapDead(
                        timeout: configuration.nodeTimeout, on: connection, logger: logger)
                    let cursors = feeds.cursors
                    if !cursors.isEmpty {
                        let latest = try await ChatBackplaneStatements.latest(
                            ofRooms: Array(cursors.keys), on: connection, logger: logger)
                        feeds.markDirty(roomIDs: latest.filter { $0.value > cursors[$0.key] ?? .max }.map(\.key))
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("chat node heartbeat failed", metadata: ["error": "\(Self.describe(error))"])
            }
            do { try await Task.sleep(for: configuration.heartbeatInterval) } catch { break }
        }
    }

    /// Every ``ChatStoreConfiguration/pruneInterval``: deletes what retention no longer keeps.
    private func prunes() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.pruneInterval) } catch { break }
            do {
                let deleted = try await prune()
                if deleted > 0 { logger.debug("pruned chat history", metadata: ["events": "\(deleted)"]) }
            } catch {
                if Task.isCancelled { break }
                logger.warning("pruning chat history failed", metadata: ["error": "\(Self.describe(error))"])
            }
        }
    }

    // MARK: - Errors

    /// Runs `body` on a pooled connection; any failure but our own becomes a ``ChatStoreError``
    /// naming `operation`. It ends within ``ChatStoreConfiguration/callTimeout`` whatever the
    /// connection does (``AbandonableCall``), and at once when the calling task is cancelled.
    ///
    /// A call that times out closes the connection it was given: the pool has no lease timeout,
    /// and a statement that is merely slow (a lock wait, a peer gone without a FIN) would hold its
    /// pooled connection until it ended, so a few of them would leave the node no connection for
    /// any call. Closed, the connection leaves the pool before the call returns, and its statement
    /// fails.
    package func call<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let timeout = configuration.callTimeout
        return try await Self.unavailable(operation) {
            let leased = NIOLockedValueBox<PostgresConnection?>(nil)
            let outcome = try await AbandonableCall.run(timeout: timeout) {
                try await self.client.withConnection { connection in
                    leased.withLockedValue { $0 = connection }
                    return try await body(connection)
                }
            }
            guard let outcome else {
                if let connection = leased.withLockedValue({ $0 }) {
                    // Waited for (briefly), so that the pool has let the connection go before
                    // this caller's next call asks it for one: the pool opens a connection for
                    // a waiting request only when a request arrives, not when one closes.
                    _ = try? await AbandonableCall.run(timeout: .seconds(1)) { try await connection.close() }
                }
                throw ChatStoreError(
                    .unavailable(
                        operation: operation,
                        detail: "no answer from \(self.configuration.host):\(self.configuration.port) within \(timeout)"
                    ))
            }
            return outcome
        }
    }

    private static func unavailable<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ChatStoreError {
            throw error
        } catch {
            throw ChatStoreError(.unavailable(operation: operation, detail: describe(error)))
        }
    }

    /// One line about `error` (postgres-nio's own descriptions hide the server's message, and
    /// NIO's connection errors nest several layers deep).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            if let message = error.serverInfo?[.message] {
                return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
            }
            if let underlying = error.underlying { return describe(underlying) }
            return "\(error.code)"
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return describe(first.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "\(error.host) does not resolve" }
            return "no address to connect to for \(error.host)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        default:
            return String(describing: error)
        }
    }
}
