import Foundation
import LaboratoryProtocol
import Logging
import PostgresNIO

/// Nodes and their presence: a node takes the lowest free number at start, heartbeats, and is
/// dropped (its members' rows deleted and a `left` event appended for each) by whichever live
/// node first notices that it stopped, or by itself when it shuts down gracefully.
enum ChatBackplaneNodes {
    /// `pg_advisory_xact_lock` key serialising node registrations: two nodes starting together
    /// never pick the same free number.
    private static let registrationLockKey: Int64 = 0x4C_61_62_4E_6F_64_65  // "LabNode"

    /// Registers a new node under the lowest number no registered node holds, after dropping the
    /// nodes that stopped heartbeating (so that their numbers are free again). Returns the number.
    static func register(timeout: Duration, on connection: PostgresConnection, logger: Logger) async throws -> UInt16 {
        try await reapDead(timeout: timeout, on: connection, logger: logger)
        return try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(registrationLockKey))", logger: logger)
            let rows = try await connection.query(
                """
                INSERT INTO laboratory_chat_nodes (number)
                SELECT n FROM generate_series(1, 4095) n
                WHERE NOT EXISTS (SELECT 1 FROM laboratory_chat_nodes WHERE number = n)
                ORDER BY n LIMIT 1
                RETURNING number
                """, logger: logger)
            for try await number in rows.decode(Int32.self) { return UInt16(number) }
            throw ChatStoreError(.noFreeNodeNumber)
        }
    }

    /// Records that `node` is alive. A node that was dropped meanwhile (it stopped heartbeating
    /// for longer than the timeout: paused, cut off) takes its number back if it is still free.
    static func heartbeat(_ node: UInt16, on connection: PostgresConnection, logger: Logger) async throws {
        let updated = try await connection.query(
            "UPDATE laboratory_chat_nodes SET heartbeat_at = now() WHERE number = \(Int32(node)) RETURNING 1",
            logger: logger)
        for try await _ in updated.decode(Int32.self) { return }
        logger.error(
            "this chat node was dropped as dead (no heartbeat within the timeout); its members were announced as left",
            metadata: ["node": "\(node)"])
        let reclaimed = try await connection.query(
            "INSERT INTO laboratory_chat_nodes (number) VALUES (\(Int32(node))) ON CONFLICT DO NOTHING RETURNING 1",
            logger: logger)
        for try await _ in reclaimed.decode(Int32.self) { return }
        throw ChatStoreError(.nodeReplaced(node))
    }

    /// Drops every node whose last heartbeat is older than `timeout` (by the database's clock),
    /// each exactly once: the rows are locked `FOR UPDATE SKIP LOCKED`, so a node that another
    /// is already dropping is skipped, and once that transaction commits the row is gone.
    /// Returns the numbers dropped.
    @discardableResult
    static func reapDead(timeout: Duration, on connection: PostgresConnection, logger: Logger) async throws -> [UInt16]
    {
        try await connection.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT number FROM laboratory_chat_nodes
                WHERE heartbeat_at < now() - make_interval(secs => \(ChatBackplaneStatements.seconds(timeout)))
                ORDER BY number FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var dead: [UInt16] = []
            for try await number in rows.decode(Int32.self) { dead.append(UInt16(number)) }
            for node in dead {
                let left = try await removeLocked(node, on: connection, logger: logger)
                logger.notice(
                    "dropped a chat node that stopped heartbeating", metadata: ["node": "\(node)", "left": "\(left)"])
            }
            return dead
        }
    }

    /// Removes `node` (a graceful shutdown): its members leave, with their `left` events.
    /// Returns how many memberships ended; 0 if another node already dropped it.
    @discardableResult
    static func unregister(_ node: UInt16, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT number FROM laboratory_chat_nodes WHERE number = \(Int32(node)) FOR UPDATE", logger: logger)
            var found = false
            for try await _ in rows.decode(Int32.self) { found = true }
            guard found else { return 0 }
            return try await removeLocked(node, on: connection, logger: logger)
        }
    }

    /// In a transaction holding `node`'s row lock: deletes its members, appends a `left` event
    /// for each membership (room by room, members in id order), then deletes its row.
    private static func removeLocked(_ node: UInt16, on connection: PostgresConnection, logger: Logger) async throws
        -> Int
    {
        let rows = try await connection.query(
            """
            DELETE FROM laboratory_chat_members m USING laboratory_chat_rooms r
            WHERE m.node = \(Int32(node)) AND r.id = m.room_id
            RETURNING r.name, m.member_id, m.name
            """, logger: logger)
        var memberships: [(room: String, id: UInt64, name: String)] = []
        for try await (room, id, name) in rows.decode((String, Int64, String).self) {
            memberships.append((room, UInt64(bitPattern: id), name))
        }
        memberships.sort { ($0.room, $0.id) < ($1.room, $1.id) }
        let time = Int64(Date().timeIntervalSince1970 * 1000)
        for membership in memberships {
            _ = try await ChatBackplaneStatements.append(
                ChatEvent(
                    kind: .left, room: membership.room, sequence: nil, from: membership.id, name: membership.name,
                    time: time),
                to: membership.room, on: connection, logger: logger)
        }
        try await connection.query("DELETE FROM laboratory_chat_nodes WHERE number = \(Int32(node))", logger: logger)
        return memberships.count
    }
}
