import Foundation
import Laboratory
import LaboratoryPostgres
import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTesting
import Logging
import PostgresNIO
import Testing

/// `PostgresChatBackplane` against a real, throwaway PostgreSQL cluster per test, with one to
/// four nodes (backplane instances) on it.
@Suite("PostgreSQL chat backplane", .timeLimit(.minutes(3)))
struct PostgresChatBackplaneTests {
    let logger = Logger(label: "postgres-backplane-tests")

    @Test("Keeps the ChatBackplane contract (numbering, history window, subscriptions, presence)")
    func contract() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(1, cluster.backplaneConfiguration(historySize: 5)) { nodes in
                try await checkChatBackplaneContract(historyWindow: 5) { nodes[0].backplane }
            }
        }
    }

    @Test(
        "Two nodes, 4 writers × 100 concurrent appends: numbered 1…400 once; every subscription on either node sees all, in order"
    )
    func twoNodesShareOneNumbering() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(2, cluster.backplaneConfiguration(historySize: 1000)) { nodes in
                #expect(Set(nodes.map(\.node)) == [1, 2])
                var subscriptions: [ChatSubscription] = []
                for node in nodes + nodes { subscriptions.append(try await node.backplane.subscribe(to: "busy")) }
                let writers = 4
                let each = 100
                let numbers = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                    for writer in 0..<writers {
                        let node = nodes[writer % 2]
                        group.addTask {
                            var numbers: [UInt64] = []
                            for index in 0..<each {
                                let from = UInt64(node.node) << 40 | UInt64(writer)
                                numbers.append(
                                    try await node.backplane.append(
                                        message("\(writer)-\(index)", from: from), to: "busy"
                                    )
                                    .sequence)
                            }
                            return numbers
                        }
                    }
                    return try await group.reduce(into: [[UInt64]]()) { $0.append($1) }
                }
                // Each writer's appends got increasing numbers; together, every number once.
                for writerNumbers in numbers { #expect(writerNumbers == writerNumbers.sorted()) }
                #expect(numbers.flatMap { $0 }.sorted() == Array(1...UInt64(writers * each)))

                let history = try await nodes[1].backplane.history(of: "busy", after: 0)
                #expect(history.entries.map(\.sequence) == Array(1...UInt64(writers * each)))
                let events = try history.entries.map { try JSONDecoder().decode(ChatEvent.self, from: Data($0.body)) }
                for writer in 0..<writers {
                    #expect(
                        events.filter { $0.text?.hasPrefix("\(writer)-") == true }.map(\.text)
                            == (0..<each).map { "\(writer)-\($0)" })
                }
                for subscription in subscriptions {
                    let delivered = try await collect(writers * each, of: subscription, within: .seconds(60))
                    #expect(delivered == history.entries)
                    subscription.cancel()
                }
            }
        }
    }

    @Test(
        "A node that stops heartbeating is dropped within the bound by one of the live nodes: each of its memberships gets exactly one left event; its number is reused after"
    )
    func deadNodeIsDroppedOnce() async throws {
        try await withPostgresCluster { cluster in
            let configuration = cluster.backplaneConfiguration()
            try await withChatNodes(3, configuration) { nodes in
                let (live, victim) = (nodes[0], nodes[2])
                let lost = UInt64(victim.node) << 40
                try await victim.backplane.join(lost | 1, name: "ana", room: "one")
                try await victim.backplane.join(lost | 2, name: "bo", room: "one")
                try await victim.backplane.join(lost | 1, name: "ana", room: "two")
                let stays = UInt64(live.node) << 40 | 1
                try await live.backplane.join(stays, name: "cy", room: "one")
                let one = try await live.backplane.subscribe(to: "one")
                let two = try await nodes[1].backplane.subscribe(to: "two")

                let crashed = ContinuousClock.now
                await victim.crash()
                let leftOne = try await collect(2, of: one, within: .seconds(30))
                let leftTwo = try await collect(1, of: two, within: .seconds(30))
                let elapsed = ContinuousClock.now - crashed
                // Dropped after the timeout (its last heartbeat was at most one interval before the
                // crash), within the timeout plus a heartbeat interval and scheduling slack.
                #expect(elapsed >= configuration.nodeTimeout - configuration.heartbeatInterval)
                #expect(elapsed < configuration.nodeTimeout + configuration.heartbeatInterval + .seconds(5))

                let decodedOne = try leftOne.map { try JSONDecoder().decode(ChatEvent.self, from: Data($0.body)) }
                #expect(decodedOne.map(\.kind) == [.left, .left])
                #expect(decodedOne.map(\.from) == [lost | 1, lost | 2])
                #expect(decodedOne.map(\.name) == ["ana", "bo"])
                let decodedTwo = try JSONDecoder().decode(ChatEvent.self, from: Data(leftTwo[0].body))
                #expect(decodedTwo.kind == .left && decodedTwo.from == lost | 1 && decodedTwo.room == "two")
                #expect(try await live.backplane.members(of: "one") == [ChatMember(id: stays, name: "cy")])
                #expect(try await live.backplane.members(of: "two").isEmpty)

                // Nobody drops it again: asking both live nodes finds nothing, and the history
                // holds exactly the three left events.
                #expect(try await live.backplane.reapDeadNodes().isEmpty)
                #expect(try await nodes[1].backplane.reapDeadNodes().isEmpty)
                let historyOne = try await live.backplane.history(of: "one", after: 0)
                let historyTwo = try await live.backplane.history(of: "two", after: 0)
                #expect(historyOne.entries == leftOne)
                #expect(historyTwo.entries == leftTwo)

                // Its number is free again, and the lowest free one.
                let next = try await ChatNode.start(configuration, label: "next")
                #expect(next.node == victim.node)
                await next.stop()
            }
        }
    }

    @Test("Graceful shutdown removes the node at once: its members leave with one left event each")
    func gracefulShutdownRemovesTheNode() async throws {
        try await withPostgresCluster { cluster in
            let configuration = cluster.backplaneConfiguration()
            try await withChatNodes(1, configuration) { nodes in
                let leaving = try await ChatNode.start(configuration, label: "leaving")
                #expect(leaving.node == 2)
                try await leaving.backplane.join(2 << 40 | 5, name: "dee", room: "lobby")
                try await nodes[0].backplane.join(1 << 40 | 5, name: "eve", room: "lobby")
                await leaving.stop()
                #expect(try await nodes[0].backplane.members(of: "lobby") == [ChatMember(id: 1 << 40 | 5, name: "eve")])
                let history = try await nodes[0].backplane.history(of: "lobby", after: 0)
                let events = try history.entries.map { try JSONDecoder().decode(ChatEvent.self, from: Data($0.body)) }
                #expect(events.map(\.kind) == [.left])
                #expect(events.first?.from == 2 << 40 | 5)
                let again = try await ChatNode.start(configuration, label: "again")
                #expect(again.node == 2)
                await again.stop()
            }
            // Every node removed itself, and stays removed (no late heartbeat puts a row back).
            try await Task.sleep(for: configuration.heartbeatInterval * 3)
            let connection = try await PostgresConnection.connect(
                configuration: cluster.connectionConfiguration, id: 1, logger: logger)
            let nodes = try await connection.query("SELECT count(*) FROM laboratory_chat_nodes", logger: logger)
                .collect().map { try $0.decode(Int64.self) }
            #expect(nodes == [0])
            try await connection.close()
        }
    }

    @Test("PostgreSQL restarts mid-stream: subscriptions on both nodes recover and fill the gap from the table")
    func subscriptionsSurviveADatabaseRestart() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(2, cluster.backplaneConfiguration(historySize: 1000)) { nodes in
                let subscriptions = [
                    try await nodes[0].backplane.subscribe(to: "lobby"),
                    try await nodes[1].backplane.subscribe(to: "lobby"),
                ]
                var last: UInt64 = 0
                for index in 0..<20 { last = try await appendRetrying(nodes[0].backplane, "before \(index)") }
                try await cluster.stopServer()
                try await cluster.startServer()
                // Appended while the nodes' listeners may still be reconnecting: some of these are
                // never notified to them; they must read them from the table.
                for index in 0..<20 { last = try await appendRetrying(nodes[index % 2].backplane, "after \(index)") }
                let history = try await nodes[1].backplane.history(of: "lobby", after: 0)
                #expect(history.entries.map(\.sequence) == Array(1...last))
                for subscription in subscriptions {
                    let delivered = try await collect(Int(last), of: subscription, within: .seconds(60))
                    #expect(delivered == history.entries)
                }
                // And the stream goes on.
                let more = try await nodes[1].backplane.append(message("later"), to: "lobby")
                for subscription in subscriptions {
                    #expect(try await collect(1, of: subscription, within: .seconds(30)) == [more])
                }
            }
        }
    }

    @Test("Notifications are not trusted alone: an event committed without one reaches subscribers within a heartbeat")
    func lostNotificationIsRecovered() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(1, cluster.backplaneConfiguration()) { nodes in
                let subscription = try await nodes[0].backplane.subscribe(to: "quiet")
                // An append as the backplane makes it, but without its NOTIFY (a lost notification:
                // the listening connection stays up, so only the periodic check can find it).
                let connection = try await PostgresConnection.connect(
                    configuration: cluster.connectionConfiguration, id: 1, logger: logger)
                try await connection.query(
                    """
                    WITH room AS (
                        UPDATE laboratory_chat_rooms SET last_sequence = last_sequence + 1 WHERE name = 'quiet'
                        RETURNING id, last_sequence
                    )
                    INSERT INTO laboratory_chat_messages (room_id, sequence, sender, connection_id, body)
                    SELECT id, last_sequence, 'ana', '7',
                        '{"sequence":' || last_sequence || ',"kind":"message","from":7,"name":"ana","text":"silent","time":0}'
                    FROM room
                    """, logger: logger)
                try await connection.close()
                let delivered = try await collect(1, of: subscription, within: .seconds(10))
                let event = try JSONDecoder().decode(ChatEvent.self, from: Data(delivered[0].body))
                #expect(event.sequence == 1 && event.text == "silent")
                // And the next, notified one follows it in order.
                let next = try await nodes[0].backplane.append(message("loud"), to: "quiet")
                #expect(try await collect(1, of: subscription, within: .seconds(10)) == [next])
            }
        }
    }

    @Test(
        "A subscriber that falls more than its buffer behind gets the buffer, then the end of the stream; others go on")
    func laggingSubscriptionEnds() async throws {
        try await withPostgresCluster { cluster in
            var configuration = cluster.backplaneConfiguration()
            configuration.subscriptionBuffer = 5
            try await withChatNodes(1, configuration) { nodes in
                let backplane = nodes[0].backplane
                let lagging = try await backplane.subscribe(to: "busy")
                let keeping = try await backplane.subscribe(to: "busy")
                var kept: [UInt64] = []
                for index in 1...12 {
                    let entry = try await backplane.append(message("m\(index)"), to: "busy")
                    // The keeping subscriber reads each one before the next append.
                    kept += try await collect(1, of: keeping, within: .seconds(10)).map(\.sequence)
                    #expect(entry.sequence == UInt64(index))
                }
                #expect(kept == Array(1...12))
                var received: [UInt64] = []
                for await entry in lagging.events { received.append(entry.sequence) }
                #expect(received == [1, 2, 3, 4, 5])
            }
        }
    }

    @Test("Retention by count and age: history applies it before pruning, pruning deletes it, numbering continues")
    func retention() async throws {
        try await withPostgresCluster { cluster in
            var configuration = cluster.backplaneConfiguration(historySize: 5)
            configuration.historyAge = .seconds(3600)
            try await withChatNodes(1, configuration) { nodes in
                let backplane = nodes[0].backplane
                for index in 1...10 { _ = try await backplane.append(message("a\(index)"), to: "a") }
                for index in 1...3 { _ = try await backplane.append(message("b\(index)"), to: "b") }
                var a = try await backplane.history(of: "a", after: 0)
                #expect(a.entries.map(\.sequence) == [6, 7, 8, 9, 10] && a.oldest == 6 && a.latest == 10)
                #expect(try await rows(cluster, room: "a") == 10)
                #expect(try await backplane.prune() == 5)
                #expect(try await rows(cluster, room: "a") == 5)
                #expect(try await backplane.history(of: "b", after: 0).entries.map(\.sequence) == [1, 2, 3])

                // Age: 6 and 7 two hours old.
                try await age(cluster, room: "a", upTo: 7)
                a = try await backplane.history(of: "a", after: 0)
                #expect(a.entries.map(\.sequence) == [8, 9, 10] && a.oldest == 8)
                #expect(try await backplane.history(of: "a", after: 8).entries.map(\.sequence) == [9, 10])
                #expect(try await backplane.prune() == 2)
                #expect(try await rows(cluster, room: "a") == 3)
                #expect(try await backplane.append(message("a11"), to: "a").sequence == 11)

                // A room whose every event is too old keeps none, and continues its numbering.
                try await age(cluster, room: "b", upTo: 3)
                let b = try await backplane.history(of: "b", after: 0)
                #expect(b.entries.isEmpty && b.oldest == 4 && b.latest == 3)
                #expect(try await backplane.prune() == 3)
                #expect(try await backplane.append(message("b4"), to: "b").sequence == 4)
            }
        }
    }

    @Test("Each node prunes on its own, every pruneInterval")
    func periodicPruning() async throws {
        try await withPostgresCluster { cluster in
            var configuration = cluster.backplaneConfiguration(historySize: 3)
            configuration.pruneInterval = .milliseconds(200)
            try await withChatNodes(1, configuration) { nodes in
                for index in 1...10 { _ = try await nodes[0].backplane.append(message("p\(index)"), to: "pruned") }
                // Polled: pruning is a background loop with nothing to await.
                let deadline = ContinuousClock.now + .seconds(20)
                var left = try await rows(cluster, room: "pruned")
                while left > 3, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    left = try await rows(cluster, room: "pruned")
                }
                #expect(left == 3)
                #expect(
                    try await nodes[0].backplane.history(of: "pruned", after: 0).entries.map(\.sequence) == [8, 9, 10])
            }
        }
    }

    @Test("Migrations: four nodes starting at once on a fresh database apply each step once and get numbers 1…4")
    func concurrentStartsMigrateOnce() async throws {
        try await withPostgresCluster { cluster in
            // Four bare migrations at once: exactly one applies the steps.
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for index in 0..<4 {
                    let logger = logger
                    let configuration = cluster.connectionConfiguration
                    group.addTask {
                        let connection = try await PostgresConnection.connect(
                            configuration: configuration, id: index, logger: logger)
                        let applied = try await ChatStoreMigrations.apply(on: connection, logger: logger)
                        try await connection.close()
                        return applied
                    }
                }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            #expect(applied.filter { !$0.isEmpty } == [ChatStoreMigrations.steps.map(\.version)])
            // Four nodes at once on another fresh database.
            let connection = try await PostgresConnection.connect(
                configuration: cluster.connectionConfiguration, id: 9, logger: logger)
            try await connection.query("CREATE DATABASE fresh", logger: logger)
            var configuration = cluster.backplaneConfiguration()
            configuration.database = "fresh"
            let fixed = configuration
            let nodes = try await withThrowingTaskGroup(of: ChatNode.self) { group in
                for index in 0..<4 { group.addTask { try await ChatNode.start(fixed, label: "n\(index)") } }
                return try await group.reduce(into: [ChatNode]()) { $0.append($1) }
            }
            #expect(Set(nodes.map(\.node)) == [1, 2, 3, 4])
            for node in nodes { await node.stop() }
            try await connection.close()
            let fresh = try await PostgresConnection.connect(
                configuration: configuration.connectionConfigurationForTests, id: 10, logger: logger)
            let versions = try await fresh.query(
                "SELECT version FROM laboratory_schema_migrations ORDER BY version", logger: logger
            ).collect().map { try $0.decode(Int.self) }
            #expect(versions == ChatStoreMigrations.steps.map(\.version))
            #expect(try await ChatStoreMigrations.apply(on: fresh, logger: logger).isEmpty)
            try await fresh.close()
        }
    }

    @Test(
        "Migrations: a fresh database gets every step recorded once; a second start, after a server restart, applies none and keeps the numbering"
    )
    func migrationsAreIdempotentAcrossRestarts() async throws {
        try await withPostgresCluster { cluster in
            let configuration = cluster.backplaneConfiguration()
            try await withChatNodes(1, configuration) { nodes in
                for index in 1...3 { _ = try await nodes[0].backplane.append(message("m\(index)"), to: "lobby") }
            }
            let recorded = try await migrations(cluster)
            #expect(recorded.map(\.version) == ChatStoreMigrations.steps.map(\.version))

            try await cluster.stopServer()
            try await cluster.startServer()
            let connection = try await PostgresConnection.connect(
                configuration: cluster.connectionConfiguration, id: 1, logger: logger)
            #expect(try await ChatStoreMigrations.apply(on: connection, logger: logger).isEmpty)
            try await connection.close()
            try await withChatNodes(1, configuration) { nodes in
                let appended = try await nodes[0].backplane.append(message("m4"), to: "lobby")
                #expect(appended.sequence == 4)
                let history = try await nodes[0].backplane.history(of: "lobby", after: 0)
                #expect(history.entries.map(\.sequence) == [1, 2, 3, 4])
            }
            // Neither the bare migration nor the node's start re-applied or re-recorded a step.
            #expect(try await migrations(cluster) == recorded)
        }
    }

    @Test(
        "A notification carries ids only: an event larger than NOTIFY's 8,000-byte payload limit reaches a subscription on another node"
    )
    func notificationPayloadIsIdsOnly() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(2, cluster.backplaneConfiguration()) { nodes in
                let subscription = try await nodes[1].backplane.subscribe(to: "lobby")
                _ = try await nodes[0].backplane.append(message("first"), to: "lobby")
                #expect(try await collect(1, of: subscription, within: .seconds(10)).map(\.sequence) == [1])

                // The raw channel, as a node's listener sees it.
                let raw = try await PostgresConnection.connect(
                    configuration: cluster.connectionConfiguration, id: 99, logger: logger)
                let roomID = try await raw.query(
                    "SELECT id FROM laboratory_chat_rooms WHERE name = 'lobby'", logger: logger
                ).collect().first?.decode(Int64.self)
                let long = String(repeating: "x", count: 10_000)
                let (payload, entry) = try await raw.listen(on: "laboratory_chat") { notifications in
                    let entry = try await nodes[0].backplane.append(message(long), to: "lobby")
                    var iterator = notifications.makeAsyncIterator()
                    return (try await iterator.next()?.payload, entry)
                }
                try await raw.close()
                #expect(payload == "\(try #require(roomID)) 2")
                let delivered = try await collect(1, of: subscription, within: .seconds(10))
                #expect(delivered == [entry])
                #expect(try JSONDecoder().decode(ChatEvent.self, from: Data(delivered[0].body)).text == long)
            }
        }
    }

    @Test(
        "Concurrent first joins and subscriptions to new rooms from two nodes: one row per room, every member recorded")
    func concurrentFirstJoins() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(2, cluster.backplaneConfiguration()) { nodes in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for room in 0..<5 {
                        for member in 0..<8 {
                            let node = nodes[member % 2]
                            let id = UInt64(node.node) << 40 | UInt64(member)
                            group.addTask { try await node.backplane.join(id, name: "m\(member)", room: "new\(room)") }
                            group.addTask { _ = try await node.backplane.subscribe(to: "new\(room)") }
                        }
                    }
                    try await group.waitForAll()
                }
                let rooms = try await nodes[0].backplane.rooms(after: nil, limit: 100).rooms
                #expect(rooms == (0..<5).map { ChatRoomSummary(name: "new\($0)", members: 8) })
            }
        }
    }

    @Test("rooms(after:limit:) pages every room in code-point order, empty ones included, with members from every node")
    func roomsInCodePointOrder() async throws {
        try await withPostgresCluster { cluster in
            try await withChatNodes(2, cluster.backplaneConfiguration()) { nodes in
                try await nodes[0].backplane.join(1 << 40 | 1, name: "a", room: "b")
                try await nodes[1].backplane.join(2 << 40 | 1, name: "b", room: "b")
                try await nodes[1].backplane.join(2 << 40 | 1, name: "b", room: "é")
                _ = try await nodes[0].backplane.append(message("x"), to: "aa")
                try await nodes[0].backplane.join(1 << 40 | 2, name: "c", room: "B")
                _ = try await nodes[0].backplane.leave(1 << 40 | 2, room: "B")
                _ = try await nodes[1].backplane.subscribe(to: "z")
                let backplane = nodes[1].backplane
                var pages: [[ChatRoomSummary]] = []
                var cursor: String?
                repeat {
                    let page = try await backplane.rooms(after: cursor, limit: 2)
                    pages.append(page.rooms)
                    cursor = page.next
                    if let next = page.next { #expect(next == page.rooms.last?.name) }
                } while cursor != nil && pages.count < 10
                #expect(
                    pages == [
                        [ChatRoomSummary(name: "B", members: 0), ChatRoomSummary(name: "aa", members: 0)],
                        [ChatRoomSummary(name: "b", members: 2), ChatRoomSummary(name: "z", members: 0)],
                        [ChatRoomSummary(name: "é", members: 1)],
                    ])
                #expect(try await backplane.rooms(after: "é", limit: 5) == ([], nil))
                #expect(try await backplane.rooms(after: "a", limit: 1).rooms.map(\.name) == ["aa"])
            }
        }
    }

    @Test(
        "A store that is down: a node cannot start (a ChatStoreError at once); a running node's calls fail with one, then work again"
    )
    func storeDown() async throws {
        try await withPostgresCluster { cluster in
            var nowhere = cluster.backplaneConfiguration()
            nowhere.port = cluster.port == 1 ? 2 : 1
            let started = ContinuousClock.now
            await #expect {
                _ = try await PostgresChatBackplane.connect(configuration: nowhere, logger: logger)
            } throws: { error in
                (error as? ChatStoreError)?.isUnavailable == true
                    && "\(error)".hasPrefix("chat store unavailable: connecting to 127.0.0.1:")
            }
            #expect(ContinuousClock.now - started < .seconds(5))

            var configuration = cluster.backplaneConfiguration()
            configuration.callTimeout = .seconds(2)
            try await withChatNodes(1, configuration) { nodes in
                let backplane = nodes[0].backplane
                _ = try await backplane.append(message("up"), to: "lobby")
                try await cluster.stopServer()
                let failed = ContinuousClock.now
                await #expect {
                    _ = try await backplane.append(message("down"), to: "lobby")
                } throws: { error in
                    (error as? ChatStoreError)?.isUnavailable == true
                        && "\(error)".hasPrefix("chat store unavailable: append to room lobby failed")
                }
                #expect(ContinuousClock.now - failed < configuration.callTimeout + .seconds(3))
                try await cluster.startServer()
                #expect(try await appendRetrying(backplane, "again") == 2)
            }
        }
    }

    @Test(
        "A call whose connection the server ends under it fails within the call timeout (postgres-nio drops a query written after the channel closed), and the node goes on working"
    )
    func callOnDeadConnection() async throws {
        try await withPostgresCluster { cluster in
            var configuration = cluster.backplaneConfiguration()
            configuration.callTimeout = .seconds(2)
            try await withChatNodes(1, configuration) { nodes in
                let backplane = nodes[0].backplane
                let logger = logger
                await expectUnavailableWithinTimeout(backplane, configuration) { connection in
                    // The server ends this connection's backend; once the channel has closed,
                    // the next query is written nowhere and its answer never comes.
                    _ = try? await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: logger)
                    try? await connection.closeFuture.get()
                    _ = try await connection.query("SELECT 1", logger: logger).collect()
                }
                let sequence = try await appendRetrying(backplane, "after")
                #expect(sequence == 1)
            }
        }
    }

    @Test("a call that times out on a live connection gives its pooled connection back: the next call runs at once")
    func timedOutCallFreesItsConnection() async throws {
        try await withPostgresCluster { cluster in
            var configuration = cluster.backplaneConfiguration()
            configuration.callTimeout = .seconds(2)
            // One connection in the pool: a call still holding it would leave none for the next.
            configuration.maximumConnections = 1
            try await withChatNodes(1, configuration) { nodes in
                let backplane = nodes[0].backplane
                let logger = logger
                await expectUnavailableWithinTimeout(backplane, configuration) { connection in
                    _ = try await connection.query("SELECT pg_sleep(60)", logger: logger).collect()
                }
                // Without the close, the pool's only connection stays leased until the sleep ends
                // (60 s), and this append times out waiting for it.
                let appended = ContinuousClock.now
                let sequence = try await backplane.append(message("after"), to: "lobby").sequence
                #expect(sequence == 1)
                #expect(ContinuousClock.now - appended < configuration.callTimeout)
            }
        }
    }

    @Test("postgres:// URLs: user, password, host, port, database; the password redacted for display")
    func urls() throws {
        let full = try ChatStoreConfiguration(url: "postgres://lab:s%40cret@db.example:6543/chat")
        #expect(full.host == "db.example" && full.port == 6543 && full.username == "lab")
        #expect(full.password == "s@cret" && full.database == "chat")
        let short = try ChatStoreConfiguration(url: "postgresql://lab@[::1]")
        #expect(short.host == "::1" && short.port == 5432 && short.password == nil && short.database == nil)
        for bad in [
            "http://lab@host/db", "postgres://host/db", "postgres://lab@/db", "postgres://lab@h/db?sslmode=require",
        ] {
            #expect(throws: ChatStoreError.self) { try ChatStoreConfiguration(url: bad) }
        }
        #expect(ChatStoreConfiguration.redacted("postgres://lab:s%40cret@db:1/chat") == "postgres://lab:***@db:1/chat")
        #expect(ChatStoreConfiguration.redacted("postgres://lab@db/chat") == "postgres://lab@db/chat")
    }

    // MARK: - Helpers

    /// Expects a store call running `body` to fail as unavailable, and within the call timeout
    /// (plus 3 s for a loaded machine).
    private func expectUnavailableWithinTimeout(
        _ backplane: PostgresChatBackplane, _ configuration: ChatStoreConfiguration,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async {
        let started = ContinuousClock.now
        await #expect {
            try await backplane.call("a call that gets no answer", body)
        } throws: { error in
            (error as? ChatStoreError)?.isUnavailable == true
        }
        #expect(ContinuousClock.now - started < configuration.callTimeout + .seconds(3))
    }

    private func message(_ text: String, from: UInt64 = 1 << 40 | 7) -> ChatEvent {
        ChatEvent(
            kind: .message, room: nil, sequence: nil, from: from, name: "ana", text: text, time: 1_700_000_000_000)
    }

    /// Appends, retrying while the store is unreachable (a restart in progress).
    private func appendRetrying(_ backplane: PostgresChatBackplane, _ text: String) async throws -> UInt64 {
        var attempts = 0
        while true {
            do {
                return try await backplane.append(message(text), to: "lobby").sequence
            } catch let error as ChatStoreError where error.isUnavailable {
                attempts += 1
                if attempts >= 100 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func rows(_ cluster: PostgresCluster, room: String) async throws -> Int {
        let connection = try await PostgresConnection.connect(
            configuration: cluster.connectionConfiguration, id: 1, logger: logger)
        let rows = try await connection.query(
            """
            SELECT count(*) FROM laboratory_chat_messages
            WHERE room_id = (SELECT id FROM laboratory_chat_rooms WHERE name = \(room))
            """, logger: logger)
        var count = 0
        for try await value in rows.decode(Int64.self) { count = Int(value) }
        try await connection.close()
        return count
    }

    /// The recorded migrations, by version: each version and when it was applied.
    private func migrations(_ cluster: PostgresCluster) async throws -> [Migration] {
        let connection = try await PostgresConnection.connect(
            configuration: cluster.connectionConfiguration, id: 1, logger: logger)
        let rows = try await connection.query(
            "SELECT version, applied_at FROM laboratory_schema_migrations ORDER BY version", logger: logger)
        var recorded: [Migration] = []
        for try await (version, appliedAt) in rows.decode((Int, Date).self) {
            recorded.append(Migration(version: version, appliedAt: appliedAt))
        }
        try await connection.close()
        return recorded
    }

    private struct Migration: Equatable {
        let version: Int
        let appliedAt: Date
    }

    /// Makes `room`'s events up to number `upTo` two hours old.
    private func age(_ cluster: PostgresCluster, room: String, upTo: Int64) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: cluster.connectionConfiguration, id: 1, logger: logger)
        try await connection.query(
            """
            UPDATE laboratory_chat_messages SET sent_at = now() - interval '2 hours'
            WHERE sequence <= \(upTo) AND room_id = (SELECT id FROM laboratory_chat_rooms WHERE name = \(room))
            """, logger: logger)
        try await connection.close()
    }
}

/// The next `count` events of `subscription`; throws if they do not all come within `limit` or
/// the subscription ends first.
func collect(
    _ count: Int, of subscription: ChatSubscription, within limit: Duration
) async throws -> [ChatBackplaneEntry] {
    try await withThrowingTaskGroup(of: [ChatBackplaneEntry]?.self) { group in
        group.addTask {
            var received: [ChatBackplaneEntry] = []
            var iterator = subscription.events.makeAsyncIterator()
            while received.count < count, let entry = await iterator.next() { received.append(entry) }
            return received
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        let received = try await group.next()!
        group.cancelAll()
        guard let received, received.count == count else {
            throw CollectError(description: "got \(received?.count ?? 0) of \(count) events within \(limit)")
        }
        return received
    }
}

struct CollectError: Error, CustomStringConvertible {
    let description: String
}

extension ChatStoreConfiguration {
    var connectionConfigurationForTests: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
    }
}
