import Foundation
import Logging
import PostgresNIO

/// Chat history in PostgreSQL, shared by every node on one database: messages are rows, each
/// room's sequence numbers are gap-free and monotonic across nodes and restarts, and each append
/// sends a `NOTIFY` on the room's channel that ``messages(room:after:)`` listens to.
///
/// Create one with ``withStore(configuration:logger:_:)``: it runs the connection pool, applies
/// the schema migrations, and closes everything when the body returns.
package final class PostgresChatStore: Sendable {
    private let client: PostgresClient
    private let configuration: ChatStoreConfiguration
    private let logger: Logger

    private init(client: PostgresClient, configuration: ChatStoreConfiguration, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` with a store on the configured database, after applying the migrations it
    /// lacks; the pool's connections close when `body` returns or throws.
    package static func withStore<T: Sendable>(
        configuration: ChatStoreConfiguration, logger: Logger,
        _ body: @Sendable (PostgresChatStore) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = PostgresChatStore(client: client, configuration: configuration, logger: logger)
            _ = try await client.withConnection { try await ChatStoreMigrations.apply(on: $0, logger: logger) }
            return try await body(store)
        }
    }

    /// Appends a message to `room` and returns it with the room's next sequence number.
    ///
    /// One statement, so one transaction: the upsert on the room's counter row takes that row's
    /// lock and increments it, the insert uses the new value, and `pg_notify` queues the room's
    /// notification, which PostgreSQL delivers only at commit. Concurrent appends to one room,
    /// from any connection or node, wait for each other on the row lock and each see the previous
    /// one's committed value (`ON CONFLICT DO UPDATE` re-reads the latest row version under
    /// READ COMMITTED), so the numbers are 1, 2, 3… with no repeat. A failed insert rolls the
    /// increment back with it, so no number is skipped — which a PostgreSQL `SEQUENCE` cannot
    /// promise (its `nextval` is not transactional and leaves gaps on rollback). Appends to
    /// different rooms do not wait for each other.
    package func append(
        room: String, sender: String, connectionID: String, text: String
    ) async throws -> StoredChatMessage {
        let rows = try await client.query(
            """
            WITH room AS (
                INSERT INTO laboratory_chat_rooms AS r (name, last_sequence) VALUES (\(room), 1)
                ON CONFLICT (name) DO UPDATE SET last_sequence = r.last_sequence + 1
                RETURNING id, last_sequence
            ), message AS (
                INSERT INTO laboratory_chat_messages (room_id, sequence, sender, connection_id, body)
                SELECT id, last_sequence, \(sender), \(connectionID), \(text) FROM room
                RETURNING room_id, sequence, sent_at
            )
            SELECT m.sequence, m.sent_at
            FROM message m, pg_notify(\(ChatStoreChannel.prefix) || m.room_id::text, m.sequence::text)
            """, logger: logger)
        for try await (sequence, sentAt) in rows.decode((Int64, Date).self) {
            return StoredChatMessage(
                room: room, sequence: sequence, sender: sender, connectionID: connectionID, text: text,
                sentAt: sentAt)
        }
        throw ChatStoreError(.noRowReturned)
    }

    /// Up to `limit` messages of `room` with a sequence number above `after`, oldest first.
    package func history(room: String, after: Int64, limit: Int) async throws -> [StoredChatMessage] {
        try await client.withConnection { connection in
            try await Self.history(room: room, after: after, limit: limit, on: connection, logger: logger)
        }
    }

    static func history(
        room: String, after: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [StoredChatMessage] {
        let rows = try await connection.query(
            """
            SELECT m.sequence, m.sender, m.connection_id, m.body, m.sent_at
            FROM laboratory_chat_messages m JOIN laboratory_chat_rooms r ON r.id = m.room_id
            WHERE r.name = \(room) AND m.sequence > \(after)
            ORDER BY m.sequence LIMIT \(Int64(limit))
            """, logger: logger)
        var messages: [StoredChatMessage] = []
        for try await (sequence, sender, connectionID, text, sentAt) in rows.decode(
            (Int64, String, String, String, Date).self)
        {
            messages.append(
                StoredChatMessage(
                    room: room, sequence: sequence, sender: sender, connectionID: connectionID, text: text,
                    sentAt: sentAt))
        }
        return messages
    }

    /// The last sequence number handed out in `room` (0 for a room never written to). Pruning
    /// does not lower it.
    package func lastSequence(room: String) async throws -> Int64 {
        let rows = try await client.query(
            "SELECT last_sequence FROM laboratory_chat_rooms WHERE name = \(room)", logger: logger)
        for try await sequence in rows.decode(Int64.self) { return sequence }
        return 0
    }

    /// Deletes what the retention policy no longer keeps: in each room, all but the newest
    /// `keepPerRoom` messages (when given), and every message older than `maximumAge` (when
    /// given). Room counters stay, so numbering continues. Returns the number of rows deleted.
    @discardableResult
    package func prune(keepPerRoom: Int?, maximumAge: Duration?) async throws -> Int {
        var deleted = 0
        if let keepPerRoom {
            let rows = try await client.query(
                """
                WITH gone AS (
                    DELETE FROM laboratory_chat_messages m USING laboratory_chat_rooms r
                    WHERE m.room_id = r.id AND m.sequence <= r.last_sequence - \(Int64(keepPerRoom))
                    RETURNING 1
                ) SELECT count(*) FROM gone
                """, logger: logger)
            for try await count in rows.decode(Int64.self) { deleted += Int(count) }
        }
        if let maximumAge {
            let seconds = Double(maximumAge.components.seconds) + Double(maximumAge.components.attoseconds) / 1e18
            let rows = try await client.query(
                """
                WITH gone AS (
                    DELETE FROM laboratory_chat_messages WHERE sent_at < now() - make_interval(secs => \(seconds))
                    RETURNING 1
                ) SELECT count(*) FROM gone
                """, logger: logger)
            for try await count in rows.decode(Int64.self) { deleted += Int(count) }
        }
        return deleted
    }

    /// Every message of `room` after `after`, then each new one as it is appended, by any node,
    /// in sequence order, each once.
    ///
    /// The stream holds a dedicated connection that `LISTEN`s on the room's channel. A
    /// notification only says that something changed: on each one, and after every (re)connection,
    /// the stream reads the table after the last sequence number it yielded, so a notification
    /// lost while the connection was down, or one that arrived before the `LISTEN`, loses
    /// nothing. A lost connection is retried with exponential backoff
    /// (``ChatStoreConfiguration/reconnectDelay`` up to ``ChatStoreConfiguration/maximumReconnectDelay``);
    /// the stream ends only when the consumer stops iterating (or cancels).
    package func messages(room: String, after: Int64) -> AsyncThrowingStream<StoredChatMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream<StoredChatMessage, any Error>.makeStream()
        let listener = ChatStoreListener(
            room: room, after: after, configuration: configuration, logger: logger, continuation: continuation)
        let task = Task { await listener.run() }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
