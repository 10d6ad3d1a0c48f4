import Foundation
import LaboratoryPostgres
import LaboratoryTestSupport
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL chat store against a real, throwaway PostgreSQL cluster per test.
@Suite("PostgreSQL chat store", .timeLimit(.minutes(3)))
struct PostgresChatStoreTests {
    let logger = Logger(label: "postgres-chat-store-tests")

    @Test("4 tasks on 2 stores × 200 appends into one room: sequence numbers 1…800, each once")
    func concurrentAppendsAreGapFree() async throws {
        try await withPostgresCluster { cluster in
            let configuration = cluster.storeConfiguration
            try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { first in
                try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { second in
                    let returned = try await withThrowingTaskGroup(of: [Int64].self) { group in
                        for task in 0..<4 {
                            let store = task % 2 == 0 ? first : second
                            group.addTask {
                                var sequences: [Int64] = []
                                for index in 0..<200 {
                                    let message = try await store.append(
                                        room: "busy", sender: "task\(task)", connectionID: "node\(task % 2)/\(task)",
                                        text: "\(task)-\(index)")
                                    sequences.append(message.sequence)
                                }
                                return sequences
                            }
                        }
                        // Another room meanwhile: its numbering is its own.
                        group.addTask {
                            var sequences: [Int64] = []
                            for index in 0..<20 {
                                sequences.append(
                                    try await first.append(
                                        room: "quiet", sender: "q", connectionID: "node0/q", text: "\(index)"
                                    )
                                    .sequence)
                            }
                            return sequences
                        }
                        var all: [[Int64]] = []
                        for try await sequences in group { all.append(sequences) }
                        return all
                    }
                    // Each task saw its own appends in increasing order.
                    for sequences in returned { #expect(sequences == sequences.sorted()) }
                    let busy = returned.filter { $0.count == 200 }.flatMap { $0 }
                    #expect(busy.sorted() == Array(1...800))
                    let quiet = returned.filter { $0.count == 20 }.flatMap { $0 }
                    #expect(quiet == Array(1...20))

                    let history = try await second.history(room: "busy", after: 0, limit: 1000)
                    #expect(history.map(\.sequence) == Array(1...800))
                    #expect(Set(history.map(\.text)).count == 800)
                    // Each task's messages are in the table in the order it sent them.
                    for task in 0..<4 {
                        let texts = history.filter { $0.sender == "task\(task)" }.map(\.text)
                        #expect(texts == (0..<200).map { "\(task)-\($0)" })
                    }
                    #expect(try await first.lastSequence(room: "busy") == 800)
                }
            }
        }
    }

    @Test("History after N: the next messages in order, limited; nothing for an unknown room")
    func historyAfter() async throws {
        try await withPostgresCluster { cluster in
            try await PostgresChatStore.withStore(configuration: cluster.storeConfiguration, logger: logger) { store in
                for index in 1...10 {
                    let message = try await store.append(
                        room: "lobby", sender: "ana", connectionID: "node-a/1", text: "message \(index)")
                    #expect(message.sequence == Int64(index))
                }
                let page = try await store.history(room: "lobby", after: 4, limit: 3)
                #expect(page.map(\.sequence) == [5, 6, 7])
                #expect(page.map(\.text) == ["message 5", "message 6", "message 7"])
                #expect(page.allSatisfy { $0.sender == "ana" && $0.connectionID == "node-a/1" && $0.room == "lobby" })
                #expect(try await store.history(room: "lobby", after: 10, limit: 100).isEmpty)
                #expect(try await store.history(room: "lobby", after: 0, limit: 100).count == 10)
                #expect(try await store.history(room: "nowhere", after: 0, limit: 100).isEmpty)
                #expect(try await store.lastSequence(room: "nowhere") == 0)
            }
        }
    }

    @Test("An append on one store reaches a listener on another; the NOTIFY payload is the sequence number only")
    func notificationReachesAnotherConnection() async throws {
        try await withPostgresCluster { cluster in
            let configuration = cluster.storeConfiguration
            try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { listening in
                try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { writing in
                    var received = listening.messages(room: "lobby", after: 0).makeAsyncIterator()
                    // The raw channel, as another node's listener sees it.
                    let raw = try await PostgresConnection.connect(
                        configuration: cluster.connectionConfiguration, id: 99, logger: logger)
                    _ = try await writing.append(room: "lobby", sender: "ana", connectionID: "node-a/1", text: "first")
                    let first = try await received.next()
                    #expect(first?.sequence == 1)
                    #expect(first?.text == "first")

                    let roomID = try await raw.query(
                        "SELECT id FROM laboratory_chat_rooms WHERE name = 'lobby'", logger: logger
                    ).collect().first?.decode(Int64.self)
                    let channel = "laboratory_room_\(try #require(roomID))"
                    // A text longer than NOTIFY's 8,000-byte payload limit: the payload is its id.
                    let long = String(repeating: "x", count: 10_000)
                    let payload = try await raw.listen(on: channel) { notifications in
                        _ = try await writing.append(room: "lobby", sender: "bo", connectionID: "node-b/2", text: long)
                        var iterator = notifications.makeAsyncIterator()
                        return try await iterator.next()?.payload
                    }
                    #expect(payload == "2")
                    let second = try await received.next()
                    #expect(second?.sequence == 2)
                    #expect(second?.text == long)
                    #expect(second?.connectionID == "node-b/2")
                    try await raw.close()
                }
            }
        }
    }

    @Test("A listener survives a PostgreSQL restart and reads what it missed from the table")
    func listenerRecoversAfterServerRestart() async throws {
        try await withPostgresCluster { cluster in
            var configuration = cluster.storeConfiguration
            configuration.reconnectDelay = .milliseconds(50)
            configuration.maximumReconnectDelay = .milliseconds(500)
            try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { store in
                var received = store.messages(room: "lobby", after: 0).makeAsyncIterator()
                _ = try await store.append(room: "lobby", sender: "ana", connectionID: "node-a/1", text: "before")
                #expect(try await received.next()?.sequence == 1)

                try await cluster.stopServer()
                try await cluster.startServer()
                // Appended while the listener may still be reconnecting: no notification
                // reaches it for some of these; it must read them from the table.
                for index in 2...5 {
                    _ = try await appendRetrying(store, text: "after \(index)")
                }
                var sequences: [Int64] = []
                for _ in 2...5 { sequences.append(try #require(try await received.next()).sequence) }
                #expect(sequences == [2, 3, 4, 5])
                _ = try await store.append(room: "lobby", sender: "ana", connectionID: "node-a/1", text: "later")
                #expect(try await received.next()?.sequence == 6)
            }
        }
    }

    @Test("Migrations apply once: a second start, after a server restart, applies none and keeps the numbering")
    func migrationsAreIdempotentAcrossRestarts() async throws {
        try await withPostgresCluster { cluster in
            let configuration = cluster.storeConfiguration
            try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { store in
                for _ in 1...3 {
                    _ = try await store.append(room: "lobby", sender: "a", connectionID: "n/1", text: "t")
                }
            }
            try await cluster.stopServer()
            try await cluster.startServer()
            let connection = try await PostgresConnection.connect(
                configuration: cluster.connectionConfiguration, id: 1, logger: logger)
            let applied = try await ChatStoreMigrations.apply(on: connection, logger: logger)
            #expect(applied.isEmpty)
            let versions = try await connection.query(
                "SELECT version FROM laboratory_schema_migrations ORDER BY version", logger: logger
            ).collect().map { try $0.decode(Int.self) }
            #expect(versions == ChatStoreMigrations.steps.map(\.version))
            try await connection.close()
            try await PostgresChatStore.withStore(configuration: configuration, logger: logger) { store in
                let message = try await store.append(room: "lobby", sender: "a", connectionID: "n/1", text: "t")
                #expect(message.sequence == 4)
                #expect(try await store.history(room: "lobby", after: 0, limit: 10).map(\.sequence) == [1, 2, 3, 4])
            }
        }
    }

    @Test("A fresh database gets every migration, recorded once")
    func migrationsApplyOnAFreshDatabase() async throws {
        try await withPostgresCluster { cluster in
            let connection = try await PostgresConnection.connect(
                configuration: cluster.connectionConfiguration, id: 1, logger: logger)
            let first = try await ChatStoreMigrations.apply(on: connection, logger: logger)
            #expect(first == ChatStoreMigrations.steps.map(\.version))
            let second = try await ChatStoreMigrations.apply(on: connection, logger: logger)
            #expect(second.isEmpty)
            try await connection.close()
        }
    }

    @Test("Retention: count per room and age; the numbering continues after pruning")
    func retention() async throws {
        try await withPostgresCluster { cluster in
            try await PostgresChatStore.withStore(configuration: cluster.storeConfiguration, logger: logger) { store in
                for index in 1...10 {
                    _ = try await store.append(room: "a", sender: "s", connectionID: "n/1", text: "\(index)")
                }
                for index in 1...3 {
                    _ = try await store.append(room: "b", sender: "s", connectionID: "n/1", text: "\(index)")
                }
                #expect(try await store.prune(keepPerRoom: 4, maximumAge: nil) == 6)
                #expect(try await store.history(room: "a", after: 0, limit: 100).map(\.sequence) == [7, 8, 9, 10])
                #expect(try await store.history(room: "b", after: 0, limit: 100).map(\.sequence) == [1, 2, 3])
                #expect(try await store.append(room: "a", sender: "s", connectionID: "n/1", text: "11").sequence == 11)

                // Age: make 7 and 8 two hours old, then keep one hour.
                let connection = try await PostgresConnection.connect(
                    configuration: cluster.connectionConfiguration, id: 1, logger: logger)
                try await connection.query(
                    """
                    UPDATE laboratory_chat_messages SET sent_at = now() - interval '2 hours'
                    WHERE sequence <= 8 AND room_id = (SELECT id FROM laboratory_chat_rooms WHERE name = 'a')
                    """, logger: logger)
                try await connection.close()
                #expect(try await store.prune(keepPerRoom: nil, maximumAge: .seconds(3600)) == 2)
                #expect(try await store.history(room: "a", after: 0, limit: 100).map(\.sequence) == [9, 10, 11])
                #expect(try await store.history(room: "b", after: 0, limit: 100).map(\.sequence) == [1, 2, 3])
                #expect(try await store.prune(keepPerRoom: 100, maximumAge: .seconds(3600)) == 0)
                // Emptied entirely, the room still continues its numbering.
                #expect(try await store.prune(keepPerRoom: 0, maximumAge: nil) == 6)
                #expect(try await store.append(room: "b", sender: "s", connectionID: "n/1", text: "4").sequence == 4)
            }
        }
    }

    /// Appends, retrying while the pool has not yet noticed that the server restarted (a refused
    /// or closed connection: the statement never reached the server, so nothing was committed).
    private func appendRetrying(_ store: PostgresChatStore, text: String) async throws -> StoredChatMessage {
        var attempts = 0
        while true {
            do {
                return try await store.append(room: "lobby", sender: "bo", connectionID: "node-b/2", text: text)
            } catch let error as PSQLError where error.code == .connectionError || error.code == .serverClosedConnection
            {
                attempts += 1
                if attempts >= 50 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

extension PostgresCluster {
    var storeConfiguration: ChatStoreConfiguration {
        ChatStoreConfiguration(host: host, port: port, username: username, database: database)
    }

    var connectionConfiguration: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: username, password: nil, database: database, tls: .disable)
    }
}
