import Foundation
import LaboratoryClient
import LaboratoryProtocol
import LaboratoryTestSupport
import NIOConcurrencyHelpers
import Testing

extension MultiNodeChatTests {
    /// How long after a node dies its members may still be listed: Docs/CHAT_STORE.md, "a dead
    /// node drops out within about 25 s" (node timeout 20 s, noticed at a live node's next
    /// heartbeat, every 5 s).
    static let presenceBound: Duration = .seconds(25)

    @Test(
        "kill -9 of one node mid-stream: its members (one on the shipped ReconnectingChatSession) resume on the others with no gap; it drops out of presence with one left each"
    )
    func killOneNode() async throws {
        try await withPostgresCluster { cluster in
            let room = "survivors"
            var started: [ChatNode] = []
            for name in ["a", "b", "c"] {
                started.append(try await ChatNode.start(name, cluster: cluster, arguments: []))
            }
            let nodes = started
            let (victim, survivors) = (nodes[1], [nodes[0], nodes[2]])
            var joined: [ChatLoadMember] = []
            for index in 0..<6 {
                let member = ChatLoadMember(name: "k\(index)", room: room)
                if index == 4 {
                    // The shipped client: it finds the victim gone and resumes on a survivor by itself.
                    try await member.joinReconnecting(on: nodes[1], failover: survivors[0])
                } else {
                    try await member.join(on: nodes[index % 3])
                }
                joined.append(member)
            }
            let members = joined
            let doomed = members.enumerated().filter { $0.offset % 3 == 1 }.map(\.element)
            let doomedIDs = await doomed.asyncMap { await $0.connectionIDs[0] }
            let perMember = 250
            let killedAt = Moment()

            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, member) in members.enumerated() {
                    group.addTask {
                        if index == 4 {
                            // It reconnects by itself: its sends go on after the resumption.
                            let finished = try await member.sayUntilAcknowledged(perMember)
                            let problems = await member.resumeProblems
                            #expect(finished, "the reconnecting client ended: \(problems)")
                            return
                        }
                        while try await !member.sayUntilAcknowledged(perMember) {
                            // Its node died under it: resume on a survivor, after the last number seen.
                            let survivor = survivors[index % 2]
                            let reply = try await member.join(on: survivor, resume: true)
                            #expect(
                                reply.missedFrom == nil,
                                "\(member.name) resumed with a gap: \(reply.missedFrom ?? 0)...\(reply.missedTo ?? 0)")
                        }
                    }
                }
                // Mid-stream: once a third of the messages have been numbered.
                group.addTask {
                    await members[0].recorder.wait { events, _ in
                        events.count(where: { $0.kind == .message }) >= perMember * 6 / 3
                    }
                    killedAt.mark()
                    await victim.kill9()
                }
                try await group.waitForAll()
            }
            for member in doomed {
                #expect(await member.connectionIDs.count == 2, "\(member.name) did not have to reconnect")
            }
            // The reconnecting client resumed once, on the survivor, and reported nothing lost;
            // expectOneHistory below checks that it delivered every event once, gap-free, in order.
            let shipped = members[4]
            let resumptions = await shipped.resumptions
            #expect(resumptions.count == 1 && resumptions.first?.rooms == [room], "\(resumptions)")
            let survivorNode = await members[0].connectionIDs[0] >> 40
            #expect(
                resumptions.first.map { $0.connectionID >> 40 } == survivorNode, "k4 did not resume on the survivor")
            let problems = await shipped.resumeProblems
            #expect(problems.isEmpty, "\(problems)")
            try await expectOneHistory(members, room: room)
            for node in survivors {
                // What a survivor logged about the room (events it says it lost, store errors).
                let warnings = node.server.standardErrorSoFar.split(separator: "\n")
                    .filter { $0.contains("warning") || $0.contains("error") }
                if !warnings.isEmpty {
                    print("multi-node: node \(node.name) logged:\n" + warnings.joined(separator: "\n"))
                }
            }

            // The dead node's members leave presence within the bound, one `left` each.
            let watcher = members[0]
            let gone = await watcher.recorder.wait { events, _ in
                Set(events.filter { $0.kind == .left }.map(\.from)).isSuperset(of: doomedIDs)
            }
            let elapsed = killedAt.instant.map { .now - $0 } ?? .zero
            #expect(gone)
            #expect(
                elapsed <= Self.presenceBound + .seconds(3),
                "the dead node's members left \(elapsed) after the kill; the bound is \(Self.presenceBound)")
            let present = try await #require(await watcher.session).chatMembers(of: room).map(\.id)
            #expect(Set(present).isDisjoint(with: doomedIDs), "still listed: \(present)")
            // Every member's `left` events after the bound (new ones would be numbered too).
            let latestLeft = watcher.recorder.lastSequence
            try await sayConcurrently([members[0]], each: 1)
            try await expectOneHistory(members, room: room)
            for member in members {
                let lefts = member.recorder.events.filter { $0.kind == .left && doomedIDs.contains($0.from) }
                #expect(
                    lefts.count == doomedIDs.count && Set(lefts.map(\.from)) == Set(doomedIDs),
                    "\(member.name) saw \(lefts.count) left events for \(doomedIDs.count) dead members")
            }
            #expect(watcher.recorder.lastSequence > latestLeft)
            for member in members { await member.close() }
        }
    }

    @Test(
        "PostgreSQL restarted mid-stream: sends during the outage fail with an error, nodes recover, subscriptions fill the gap"
    )
    func postgresRestart() async throws {
        try await withPostgresCluster { cluster in
            let room = "outage"
            let nodes = [
                try await ChatNode.start("a", cluster: cluster), try await ChatNode.start("b", cluster: cluster),
            ]
            let members = (0..<4).map { ChatLoadMember(name: "p\($0)", room: room) }
            for (index, member) in members.enumerated() { try await member.join(on: nodes[index % 2]) }
            // One idle member per node to probe the outage with.
            let probes = nodes.indices.map { ChatLoadMember(name: "probe\($0)", room: room) }
            for (probe, node) in zip(probes, nodes) { try await probe.join(on: node) }
            let perMember = 200
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in members {
                    group.addTask {
                        let alive = try await member.sayUntilAcknowledged(perMember)
                        let why = await member.lastSessionError
                        #expect(alive, "\(member.name)'s session ended: \(String(describing: why))")
                    }
                }
                group.addTask {
                    await members[0].recorder.wait { events, _ in
                        events.count(where: { $0.kind == .message }) >= perMember * 4 / 3
                    }
                    try await cluster.stopServer()
                    // Both at once: a call may wait for the store's call timeout before it fails.
                    try await withThrowingTaskGroup(of: Void.self) { probing in
                        for probe in probes { probing.addTask { _ = try await probe.say(1) } }
                        try await probing.waitForAll()
                    }
                    for probe in probes {
                        let refused = await probe.refused
                        #expect(refused.count == 1, "\(probe.name): a say with the database down was not refused")
                        if let error = refused.first?.error {
                            #expect(
                                error.code == .requestFailed && error.responseStatus == .serviceError
                                    && error.message.contains("chat store unavailable: ")
                                    && !error.message.contains("unavailable: chat store unavailable"), "\(error)")
                            print("multi-node: \(probe.name) while PostgreSQL was down: \(error)")
                        }
                    }
                    for node in nodes { #expect(node.isRunning, "node \(node.name) died with the database") }
                    try await cluster.startServer()
                }
                try await group.waitForAll()
            }
            for node in nodes { #expect(node.isRunning) }
            // The probes' sessions survived the outage: they can say again.
            for probe in probes {
                #expect(try await probe.say(1))
                #expect(await probe.acknowledged.count == 1)
            }
            try await expectOneHistory(members + probes, room: room)
            var refusedDuringOutage = 0
            for member in members + probes {
                for (text, error) in await member.refused {
                    refusedDuringOutage += 1
                    #expect(error.code == .requestFailed, "\(text): \(error)")
                }
            }
            print("multi-node: \(refusedDuringOutage) sends refused while PostgreSQL was down")
            for member in members + probes { await member.close() }
        }
    }

    @Test("a single node restarted on the PostgreSQL store keeps its history and numbering")
    func singleNodeRestart() async throws {
        try await withPostgresCluster { cluster in
            let room = "durable"
            let state = FileManager.default.temporaryDirectory
                .appendingPathComponent("laboratory-test-\(UUID().uuidString)").path
            let node = try await ChatNode.start("a", cluster: cluster, stateDirectory: state)
            let writer = ChatLoadMember(name: "w", room: room)
            try await writer.join(on: node)
            #expect(try await writer.say(60))
            try await expectOneHistory([writer], room: room)
            let before = writer.recorder.events
            let last = writer.recorder.lastSequence
            let stopped = await node.stop()
            #expect(stopped.status == 0, "\(stopped.stderr)")

            let restarted = try await ChatNode.start("a", cluster: cluster, stateDirectory: state)
            let reader = ChatLoadMember(name: "r", room: room)
            let reply = try await reader.join(on: restarted, resume: true)  // after 0: everything kept
            #expect(reply.missedFrom == nil && reply.sequence.map { $0 > last } == true, "\(reply)")
            #expect(reply.replayed.map { $0 >= before.count } == true, "\(reply)")
            let replayed = reader.recorder.events.filter { ($0.sequence ?? 0) <= last }
            #expect(replayed.map(\.sequence) == before.map(\.sequence))
            #expect(RoomHistoryCheck.identicalOrder([("before", before), ("after", replayed)]).isEmpty)
            #expect(replayed.map(\.text) == before.map(\.text))
            #expect(try await reader.say(1))
            let next = try #require(await reader.acknowledged.values.first)
            #expect(next > last, "the numbering restarted: \(next) after \(last)")
            await reader.close()
        }
    }
}
