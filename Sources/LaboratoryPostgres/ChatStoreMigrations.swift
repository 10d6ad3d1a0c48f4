import Logging
import PostgresNIO

/// The store's schema, as numbered steps applied in order at start and recorded in
/// `laboratory_schema_migrations`: a step already recorded is never run again, so starting any
/// number of times (or several nodes at once) leaves one schema.
package enum ChatStoreMigrations {
    /// One schema step: its version and its statements (run in one transaction with its record).
    package struct Step: Sendable {
        package let version: Int
        package let statements: [PostgresQuery]
    }

    /// Every step, oldest first. Append new steps; never edit or renumber a released one.
    package static let steps: [Step] = [
        Step(
            version: 1,
            statements: [
                // One row per room: its id (which names its NOTIFY channel) and the last sequence
                // number handed out. The row outlives the room's messages, so a room emptied and
                // recreated, or pruned to nothing, continues its numbering.
                """
                CREATE TABLE laboratory_chat_rooms (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    name text NOT NULL UNIQUE,
                    last_sequence bigint NOT NULL DEFAULT 0
                )
                """,
                """
                CREATE TABLE laboratory_chat_messages (
                    room_id bigint NOT NULL REFERENCES laboratory_chat_rooms (id),
                    sequence bigint NOT NULL,
                    sender text NOT NULL,
                    connection_id text NOT NULL,
                    body text NOT NULL,
                    sent_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (room_id, sequence)
                )
                """,
                // Retention by age deletes oldest first across rooms.
                "CREATE INDEX laboratory_chat_messages_sent_at ON laboratory_chat_messages (sent_at)",
            ]),
        // Presence across nodes (PostgresChatBackplane): the nodes that are up, each with a number
        // 1...4095 (the top bits of its connection ids) and its last heartbeat, and who is in
        // which room on which node. A member row cannot outlive its node's row: a node's number is
        // free again only once its members are gone (and announced as left).
        Step(
            version: 2,
            statements: [
                """
                CREATE TABLE laboratory_chat_nodes (
                    number integer PRIMARY KEY CHECK (number BETWEEN 1 AND 4095),
                    started_at timestamptz NOT NULL DEFAULT now(),
                    heartbeat_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE laboratory_chat_members (
                    room_id bigint NOT NULL REFERENCES laboratory_chat_rooms (id),
                    member_id bigint NOT NULL,
                    name text NOT NULL,
                    node integer NOT NULL REFERENCES laboratory_chat_nodes (number),
                    PRIMARY KEY (room_id, member_id)
                )
                """,
                "CREATE INDEX laboratory_chat_members_node ON laboratory_chat_members (node)",
                // Room listings page in code-point order (byte order of UTF-8, the "C" collation),
                // whatever the database's default collation.
                #"CREATE INDEX laboratory_chat_rooms_name_c ON laboratory_chat_rooms (name COLLATE "C")"#,
            ]),
    ]

    /// A constant key for `pg_advisory_xact_lock`: nodes starting together apply the steps one
    /// at a time instead of racing to create the same table.
    private static let lockKey: Int64 = 0x4C_61_62_43_68_61_74  // "LabChat"

    /// Applies the steps not yet recorded, all in one transaction under the advisory lock; returns
    /// the versions it applied (empty when the schema was already current).
    @discardableResult
    package static func apply(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS laboratory_schema_migrations (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var recorded: Set<Int> = []
            let rows = try await connection.query("SELECT version FROM laboratory_schema_migrations", logger: logger)
            for try await version in rows.decode(Int.self) { recorded.insert(version) }
            var applied: [Int] = []
            for step in steps where !recorded.contains(step.version) {
                for statement in step.statements { try await connection.query(statement, logger: logger) }
                try await connection.query(
                    "INSERT INTO laboratory_schema_migrations (version) VALUES (\(step.version))", logger: logger)
                applied.append(step.version)
            }
            return applied
        }
    }
}
