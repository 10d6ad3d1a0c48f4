import Foundation
import LaboratoryClient
import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

/// Issue 16, "Tests (real processes, real PostgreSQL)": `laboratory-server` processes on one
/// throwaway PostgreSQL database, members spread over them in one room, each sending hundreds of
/// messages at once. What every test checks, from what each member received: nothing lost,
/// nothing duplicated, each member's numbers gap-free (across its reconnections), the same event
/// under the same number on every node.
@Suite("Multi-node chat on PostgreSQL", .serialized, .timeLimit(.minutes(3)))
struct MultiNodeChatTests {
    @Test("two, then three nodes: members on every node see every message once, gap-free, in one order")
    func twoThenThreeNodes() async throws {
        try await withPostgresCluster { cluster in
            let room = "load"
            let first = try await ChatNode.start("a", cluster: cluster)
            let second = try await ChatNode.start("b", cluster: cluster)
            var members: [ChatLoadMember] = []
            for (index, node) in [first, second, first, second].enumerated() {
                let member = ChatLoadMember(name: "m\(index)", room: room)
                try await member.join(on: node)
                members.append(member)
            }
            try await sayConcurrently(members, each: 200)
            try await expectOneHistory(members, room: room)

            // A third node joins the same database; its members join the room mid-life.
            let third = try await ChatNode.start("c", cluster: cluster)
            for index in 4..<6 {
                let member = ChatLoadMember(name: "m\(index)", room: room)
                try await member.join(on: third)
                members.append(member)
            }
            try await sayConcurrently(members, each: 150)
            try await expectOneHistory(members, room: room)
            let ids = await members.asyncMap { await $0.connectionIDs }.flatMap { $0 }
            #expect(Set(ids).count == ids.count, "connection ids collide across nodes: \(ids)")
            // Node-qualified: `node << 40 | local`, one node number per process, never 0, below 2^53.
            let nodeOf = ids.map { $0 >> 40 }
            let byNode = [[0, 2], [1, 3], [4, 5]].map { Set($0.map { nodeOf[$0] }) }
            #expect(byNode.allSatisfy { $0.count == 1 && !$0.contains(0) }, "\(nodeOf)")
            #expect(Set(byNode.flatMap { $0 }).count == 3, "two nodes share a number: \(nodeOf)")
            #expect(ids.allSatisfy { $0 < 1 << 53 })
            for member in members { await member.close() }
        }
    }

    // MARK: Shared steps

    /// Every member says `each` more messages, all members at once; every one must be answered.
    func sayConcurrently(_ members: [ChatLoadMember], each: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in members {
                group.addTask {
                    let finished = try await member.say(each)
                    let refused = await member.refused
                    #expect(finished && refused.isEmpty, "\(member.name): \(refused.map { "\($0.error)" })")
                }
            }
            try await group.waitForAll()
        }
    }

    /// Waits until every member has received the last acknowledged message, then checks the room's
    /// history as each member received it.
    func expectOneHistory(_ members: [ChatLoadMember], room: String) async throws {
        var latest: UInt64 = 0
        for member in members { latest = max(latest, await member.acknowledged.values.max() ?? 0) }
        for member in members {
            let arrived = await member.recorder.wait(forSequence: latest)
            #expect(arrived, "\(member.name) never received sequence \(latest)")
        }
        var received: [(name: String, events: [ChatEvent])] = []
        for member in members {
            let events = member.recorder.events
            received.append((member.name, events))
            let gaps = RoomHistoryCheck.gapFree(member.name, events)
            #expect(gaps.isEmpty, "\(gaps.joined(separator: "; "))")
            let joined = await member.firstJoinSequence ?? 0
            #expect(
                (events.first?.sequence ?? 0) <= joined + 1,
                "\(member.name) joined at \(joined) but its first event is \(events.first?.sequence ?? 0)")
        }
        let order = RoomHistoryCheck.identicalOrder(received)
        #expect(order.isEmpty, "\(order.joined(separator: "; "))")
        for sender in members {
            let acknowledged = await sender.acknowledged
            let uncertain = await sender.uncertain
            let refused = Set(await sender.refused.map(\.text))
            for (name, events) in received {
                // A member that joined later sees only what came after it joined.
                let first = events.first?.sequence ?? 0
                let problems = RoomHistoryCheck.delivered(
                    to: name, events, acknowledged: acknowledged.filter { $0.value >= first }, uncertain: uncertain,
                    refused: refused, senderPrefix: "\(sender.name)#")
                #expect(problems.isEmpty, "\(problems.joined(separator: "; "))")
            }
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
