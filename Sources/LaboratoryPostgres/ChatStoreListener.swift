import Logging
import PostgresNIO

/// The room's `NOTIFY` channel: a fixed prefix and the room's id (room names are arbitrary text,
/// channel names are identifiers of at most 63 bytes). The payload is the new sequence number
/// only, far below PostgreSQL's 8,000-byte limit whatever the message's size.
enum ChatStoreChannel {
    static let prefix = "laboratory_room_"
}

/// What ``PostgresChatStore/messages(room:after:)`` runs: a dedicated connection that listens on
/// the room's channel and reads the table after the last sequence number it yielded, on every
/// (re)connection and on every notification; reconnects with exponential backoff.
struct ChatStoreListener: Sendable {
    let room: String
    let after: Int64
    let configuration: ChatStoreConfiguration
    let logger: Logger
    let continuation: AsyncThrowingStream<StoredChatMessage, any Error>.Continuation

    func run() async {
        var last = after
        var delay = configuration.reconnectDelay
        var connectionNumber = 0
        while !Task.isCancelled {
            connectionNumber += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration, id: connectionNumber, logger: logger)
                delay = configuration.reconnectDelay
                do {
                    try await listen(on: connection, last: &last)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                logger.info(
                    "chat store listener lost its connection; reconnecting",
                    metadata: ["room": "\(room)", "error": "\(String(reflecting: error))", "delay": "\(delay)"])
            }
            if Task.isCancelled { break }
            do { try await Task.sleep(for: delay) } catch { break }
            delay = min(delay * 2, configuration.maximumReconnectDelay)
        }
        continuation.finish()
    }

    /// Listens until the connection is lost (throws, or the notifications end).
    private func listen(on connection: PostgresConnection, last: inout Int64) async throws {
        let roomID = try await ensureRoom(on: connection)
        var current = last
        defer { last = current }
        try await connection.listen(on: ChatStoreChannel.prefix + String(roomID)) { notifications in
            // Listening first, then reading: anything committed after the read is notified.
            try await catchUp(on: connection, last: &current)
            for try await _ in notifications {
                try await catchUp(on: connection, last: &current)
            }
        }
        throw ChatStoreError(.notificationsEnded)
    }

    /// Yields every message after `last`, in batches, and advances `last`.
    private func catchUp(on connection: PostgresConnection, last: inout Int64) async throws {
        while true {
            let batch = try await PostgresChatStore.history(
                room: room, after: last, limit: configuration.catchUpBatchSize, on: connection, logger: logger)
            for message in batch {
                continuation.yield(message)
                last = message.sequence
            }
            if batch.count < configuration.catchUpBatchSize { return }
        }
    }

    /// The room's id (creating its counter row if no one has written to it yet).
    private func ensureRoom(on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO laboratory_chat_rooms AS r (name) VALUES (\(room))
            ON CONFLICT (name) DO UPDATE SET name = r.name RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw ChatStoreError(.noRowReturned)
    }
}
