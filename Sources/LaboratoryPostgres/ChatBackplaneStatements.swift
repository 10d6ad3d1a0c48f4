import Foundation
import Laboratory
import LaboratoryProtocol
import Logging
import PostgresNIO

/// The SQL of ``PostgresChatBackplane``, one function per statement, each on a given connection
/// (a pooled one, the node's start-up connection, or a reaping transaction's).
enum ChatBackplaneStatements {
    /// The one channel every node listens on; a payload is `<room id> <sequence>`, never content.
    static let channel = "laboratory_chat"

    private static let encoder = JSONEncoder()

    /// Appends `event` to `room` and returns it numbered, in one statement (so one transaction):
    /// the upsert on the room's counter row takes the row's lock and increments it, the insert
    /// uses the new value, and `pg_notify` queues a wake-up that PostgreSQL sends at commit.
    /// Appends to one room from any node wait for each other on that lock, so each sees the
    /// previous one's committed number: 1, 2, 3… with no gap or repeat, and they commit in number
    /// order (a reader that sees number n also sees every number below it). The stored body is
    /// the event's JSON with its number spliced in, exactly what members receive. `sent_at` is
    /// taken after the lock, so it never decreases along a room's numbers.
    static func append(
        _ event: ChatEvent, to room: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> ChatBackplaneEntry {
        var event = event
        event.room = room
        event.sequence = nil
        // Encoding a value of our own type cannot fail; without `sequence`, the JSON is an object
        // with at least `kind` and `from`, so `{"sequence":n,` + its rest is an object too.
        let json = String(decoding: try! encoder.encode(event), as: UTF8.self)
        let rows = try await connection.query(
            """
            WITH room AS (
                INSERT INTO laboratory_chat_rooms AS r (name, last_sequence) VALUES (\(room), 1)
                ON CONFLICT (name) DO UPDATE SET last_sequence = r.last_sequence + 1
                RETURNING id, last_sequence
            ), message AS (
                INSERT INTO laboratory_chat_messages (room_id, sequence, sender, connection_id, body, sent_at)
                SELECT id, last_sequence, \(event.name), \(String(event.from)),
                    '{"sequence":' || last_sequence || ',' || substr(\(json), 2), clock_timestamp()
                FROM room
                RETURNING room_id, sequence, body
            )
            SELECT m.sequence, m.body
            FROM message m, pg_notify(\(channel), m.room_id || ' ' || m.sequence)
            """, logger: logger)
        for try await (sequence, body) in rows.decode((Int64, String).self) {
            return ChatBackplaneEntry(sequence: UInt64(sequence), body: Array(body.utf8))
        }
        throw ChatStoreError(.noRowReturned)
    }

    /// `room`'s kept events above `after`, with its latest number and its oldest kept one.
    ///
    /// Retention is applied here exactly, whether or not pruning has run: an event is kept when
    /// it is among the room's last `historySize` numbers and above the newest number older than
    /// `historyAge`. Kept events are therefore consecutive.
    static func history(
        of room: String, after: UInt64, historySize: Int, historyAge: Duration?, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> ChatHistory {
        let after = Int64(clamping: after)
        // The number at and below which the room keeps nothing (no age limit: a NULL interval,
        // so no event is too old).
        let rows = try await connection.query(
            """
            WITH w AS (
                SELECT r.id, r.last_sequence AS latest,
                    greatest(r.last_sequence - \(Int64(historySize)), coalesce((
                        SELECT max(o.sequence) FROM laboratory_chat_messages o
                        WHERE o.room_id = r.id
                            AND o.sent_at < now() - make_interval(secs => \(historyAge.map(seconds))::float8)
                    ), 0)) AS floor
                FROM laboratory_chat_rooms r WHERE r.name = \(room)
            )
            SELECT w.latest,
                (SELECT min(k.sequence) FROM laboratory_chat_messages k WHERE k.room_id = w.id AND k.sequence > w.floor),
                m.sequence, m.body
            FROM w LEFT JOIN laboratory_chat_messages m
                ON m.room_id = w.id AND m.sequence > greatest(w.floor, \(after)) AND m.sequence <= w.latest
            ORDER BY m.sequence
            """, logger: logger)
        var latest: Int64 = 0
        var oldest: Int64?
        var entries: [ChatBackplaneEntry] = []
        for try await (roomLatest, roomOldest, sequence, body) in rows.decode((Int64, Int64?, Int64?, String?).self) {
            latest = roomLatest
            oldest = roomOldest
            if let sequence, let body {
                entries.append(ChatBackplaneEntry(sequence: UInt64(sequence), body: Array(body.utf8)))
            }
        }
        return ChatHistory(entries: entries, oldest: UInt64(oldest ?? latest + 1), latest: UInt64(latest))
    }

    /// Up to `limit` events of the room with id `roomID` above `after`, in order, as stored.
    static func entries(
        ofRoom roomID: Int64, after: UInt64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [ChatBackplaneEntry] {
        let rows = try await connection.query(
            """
            SELECT sequence, body FROM laboratory_chat_messages
            WHERE room_id = \(roomID) AND sequence > \(Int64(clamping: after))
            ORDER BY sequence LIMIT \(Int64(limit))
            """, logger: logger)
        var entries: [ChatBackplaneEntry] = []
        for try await (sequence, body) in rows.decode((Int64, String).self) {
            entries.append(ChatBackplaneEntry(sequence: UInt64(sequence), body: Array(body.utf8)))
        }
        return entries
    }

    /// `room`'s id and latest number, creating its row if nobody has used it yet. A room that
    /// exists is only read: no row lock, so this never waits behind the room's appends.
    static func openRoom(_ room: String, on connection: PostgresConnection, logger: Logger) async throws -> (
        id: Int64, latest: UInt64
    ) {
        // Twice at most: a row another node inserted after this statement's snapshot is neither
        // read nor inserted here (ON CONFLICT DO NOTHING), and the second statement reads it.
        for _ in 0..<2 {
            let rows = try await connection.query(
                """
                WITH existing AS (SELECT id, last_sequence FROM laboratory_chat_rooms WHERE name = \(room)),
                created AS (
                    INSERT INTO laboratory_chat_rooms (name) SELECT \(room) WHERE NOT EXISTS (SELECT 1 FROM existing)
                    ON CONFLICT (name) DO NOTHING RETURNING id, last_sequence
                )
                SELECT id, last_sequence FROM existing UNION ALL SELECT id, last_sequence FROM created
                """, logger: logger)
            for try await (id, latest) in rows.decode((Int64, Int64).self) { return (id, UInt64(latest)) }
        }
        throw ChatStoreError(.noRowReturned)
    }

    /// The latest numbers of the rooms with these ids.
    static func latest(ofRooms ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws
        -> [Int64: UInt64]
    {
        let rows = try await connection.query(
            "SELECT id, last_sequence FROM laboratory_chat_rooms WHERE id = ANY(\(ids))", logger: logger)
        var latest: [Int64: UInt64] = [:]
        for try await (id, sequence) in rows.decode((Int64, Int64).self) { latest[id] = UInt64(sequence) }
        return latest
    }

    /// Records `member` in `room` on `node` under `name` (again: renames it).
    static func join(
        _ member: UInt64, name: String, room: String, node: UInt16, on connection: PostgresConnection, logger: Logger
    ) async throws {
        // The room's row is never deleted, so its id stays valid between the two statements.
        let roomID = try await openRoom(room, on: connection, logger: logger).id
        try await connection.query(
            """
            INSERT INTO laboratory_chat_members (room_id, member_id, name, node)
            VALUES (\(roomID), \(Int64(bitPattern: member)), \(name), \(Int32(node)))
            ON CONFLICT (room_id, member_id) DO UPDATE SET name = excluded.name, node = excluded.node
            """, logger: logger)
    }

    /// Removes `member` from `room`; whether it was there.
    static func leave(_ member: UInt64, room: String, on connection: PostgresConnection, logger: Logger) async throws
        -> Bool
    {
        let rows = try await connection.query(
            """
            DELETE FROM laboratory_chat_members m USING laboratory_chat_rooms r
            WHERE m.room_id = r.id AND r.name = \(room) AND m.member_id = \(Int64(bitPattern: member))
            RETURNING 1
            """, logger: logger)
        var removed = false
        for try await _ in rows.decode(Int32.self) { removed = true }
        return removed
    }

    /// `room`'s members in ascending id order.
    static func members(of room: String, on connection: PostgresConnection, logger: Logger) async throws
        -> [ChatMember]
    {
        let rows = try await connection.query(
            """
            SELECT m.member_id, m.name FROM laboratory_chat_members m JOIN laboratory_chat_rooms r ON r.id = m.room_id
            WHERE r.name = \(room) ORDER BY m.member_id
            """, logger: logger)
        var members: [ChatMember] = []
        for try await (id, name) in rows.decode((Int64, String).self) {
            members.append(ChatMember(id: UInt64(bitPattern: id), name: name))
        }
        return members
    }

    /// Up to `limit` rooms named after `after` in code-point order, with their member counts, and
    /// the cursor of the next page when more follow.
    static func rooms(after: String?, limit: Int, on connection: PostgresConnection, logger: Logger) async throws
        -> (rooms: [ChatRoomSummary], next: String?)
    {
        let rows = try await connection.query(
            """
            SELECT r.name, (SELECT count(*) FROM laboratory_chat_members m WHERE m.room_id = r.id)
            FROM laboratory_chat_rooms r
            WHERE \(after)::text IS NULL OR r.name COLLATE "C" > \(after)::text COLLATE "C"
            ORDER BY r.name COLLATE "C" LIMIT \(Int64(limit) + 1)
            """, logger: logger)
        var rooms: [ChatRoomSummary] = []
        for try await (name, members) in rows.decode((String, Int64).self) {
            rooms.append(ChatRoomSummary(name: name, members: Int(members)))
        }
        guard rooms.count > limit else { return (rooms, nil) }
        rooms.removeLast(rooms.count - limit)
        return (rooms, rooms.last?.name)
    }

    /// Deletes what retention no longer keeps, with the same rule as ``history(of:after:historySize:historyAge:on:logger:)``;
    /// returns how many events it deleted. Room rows stay, so numbering continues.
    static func prune(historySize: Int, historyAge: Duration?, on connection: PostgresConnection, logger: Logger)
        async throws -> Int
    {
        var deleted = 0
        let byCount = try await connection.query(
            """
            WITH gone AS (
                DELETE FROM laboratory_chat_messages m USING laboratory_chat_rooms r
                WHERE m.room_id = r.id AND m.sequence <= r.last_sequence - \(Int64(historySize))
                RETURNING 1
            ) SELECT count(*) FROM gone
            """, logger: logger)
        for try await count in byCount.decode(Int64.self) { deleted += Int(count) }
        if let historyAge {
            let byAge = try await connection.query(
                """
                WITH old AS (
                    SELECT room_id, max(sequence) AS floor FROM laboratory_chat_messages
                    WHERE sent_at < now() - make_interval(secs => \(seconds(historyAge)))
                    GROUP BY room_id
                ), gone AS (
                    DELETE FROM laboratory_chat_messages m USING old
                    WHERE m.room_id = old.room_id AND m.sequence <= old.floor
                    RETURNING 1
                ) SELECT count(*) FROM gone
                """, logger: logger)
            for try await count in byAge.decode(Int64.self) { deleted += Int(count) }
        }
        return deleted
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
