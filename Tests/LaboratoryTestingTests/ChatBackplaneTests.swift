import Foundation
import Laboratory
import LaboratoryProtocol
import LaboratoryTesting
import Testing

/// Issue 16, "A backplane seam": the in-memory backplane keeps the contract every backplane keeps,
/// and a room emptied, forgotten and recreated continues its numbering.
@Suite("Chat backplane", .timeLimit(.minutes(2)))
struct ChatBackplaneTests {
    @Test("the in-memory backplane keeps the backplane contract", arguments: [1, 3, 5, 100])
    func inMemoryContract(window: Int) async throws {
        try await checkChatBackplaneContract(historyWindow: window) {
            InMemoryChatBackplane(historySize: window, forgottenRoomLimit: 10)
        }
    }

    @Test("the chat service's rooms number, keep and record presence through its backplane")
    func serviceUsesBackplane() async throws {
        let chat = ChatService()
        var services = ServiceRegistry()
        services.register(chat, as: "chat")
        try await withServiceTest(services, mode: .inMemory) { client in
            let (ada, bob) = try await adaAndBob(client)
            _ = try await ada.chat(.join(room: "lobby", after: nil))
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            let said = try await ada.chat(.say(room: "lobby", text: "hello"))
            let history = try await chat.backplane.history(of: "lobby", after: 0)
            #expect(history.latest == said.sequence && history.entries.map(\.sequence) == [1, 2, 3])
            let last = try JSONDecoder().decode(ChatEvent.self, from: Data(history.entries[2].body))
            #expect(last.text == "hello" && last.from == ada.connectionID)
            #expect(
                try await chat.backplane.members(of: "lobby").map(\.id)
                    == [ada.connectionID, bob.connectionID].sorted())
            _ = try await bob.chat(.leave(room: "lobby"))
            #expect(try await chat.backplane.members(of: "lobby").map(\.id) == [ada.connectionID])
        }
    }

    @Test("a room emptied, forgotten and recreated continues its numbering, and a resuming client sees no old number")
    func recreatedRoomContinues() async throws {
        var limits = ChatLimits()
        limits.maximumRooms = 2
        limits.membershipRate = nil
        let chat = ChatService(limits: limits)
        var services = ServiceRegistry()
        services.register(chat, as: "chat")
        try await withServiceTest(services, mode: .inMemory) { client in
            let (ada, bob) = try await adaAndBob(client)
            var adaEvents = ChatEvents(ada)
            _ = try await ada.chat(.join(room: "a", after: nil))  // 1
            _ = try await ada.chat(.say(room: "a", text: "one"))  // 2
            _ = try await ada.chat(.say(room: "a", text: "two"))  // 3
            _ = try await ada.chat(.leave(room: "a"))  // 4, and "a" is empty
            // Two more rooms: the limit is 2, so "a", empty longest, is forgotten.
            _ = try await bob.chat(.join(room: "b", after: nil))
            _ = try await bob.chat(.join(room: "c", after: nil))
            let rooms = try await bob.chat(.rooms(limit: 10))
            #expect(rooms.rooms?.map(\.name) == ["b", "c"], "room \"a\" was not forgotten: the test proves nothing")
            _ = try await bob.chat(.leave(room: "b"))
            // Recreated: its join is number 5, not 1.
            let joined = try await ada.chat(.join(room: "a", after: 3))
            #expect(joined.sequence == 5)
            // Number 4 (Ada's leave) went with the forgotten room's history: reported as missed.
            #expect(joined.replayed == 0 && joined.missedFrom == 4 && joined.missedTo == 4)
            let said = try await ada.chat(.say(room: "a", text: "three"))
            #expect(said.sequence == 6)
            // Ada saw her join and messages, then (not her own leave) the new join and message.
            #expect(try await adaEvents.next(5).map(\.sequence) == [1, 2, 3, 5, 6])
        }
    }

    @Test("forgotten rooms' numbers are kept for a bounded number of rooms, and numbers never go back")
    func forgottenRecordsAreBounded() async throws {
        let backplane = InMemoryChatBackplane(historySize: 10, forgottenRoomLimit: 2)
        func event() -> ChatEvent { ChatEvent(kind: .message, room: nil, sequence: nil, from: 1, name: "ada", time: 0) }
        // Room r<i> gets i + 1 events, then is forgotten. r0 ends at 1, r1 at 2, r2 at 3; forgetting
        // r2 drops r0's record (floor 1), so r3 starts above 1 and ends at 5; forgetting it drops
        // r1's record (floor 2).
        for index in 0..<4 {
            for _ in 0...index { _ = try await backplane.append(event(), to: "r\(index)") }
            backplane.forget("r\(index)")
        }
        #expect(backplane.forgottenRooms == 2)
        // Kept records: r2 and r3 continue exactly.
        #expect(try await backplane.append(event(), to: "r3").sequence == 6)
        #expect(try await backplane.append(event(), to: "r2").sequence == 4)
        // Dropped records (r0 at 1, r1 at 2): those rooms, and new ones, start above the highest
        // dropped number, so none of them goes back.
        #expect(try await backplane.append(event(), to: "r1").sequence == 3)
        #expect(try await backplane.append(event(), to: "r0").sequence == 3)
        #expect(try await backplane.append(event(), to: "new").sequence == 3)
        #expect(backplane.forgottenRooms == 0)
        // A forgotten room's history is gone but its number is reported.
        backplane.forget("r3")
        let history = try await backplane.history(of: "r3", after: 0)
        #expect(history.entries.isEmpty && history.latest == 6 && history.oldest == 7)
    }

    @Test("churning through new rooms keeps at most the room limit's number of forgotten rooms' numbers")
    func churnKeepsBoundedRecords() async throws {
        var limits = ChatLimits()
        limits.maximumRooms = 50
        limits.membershipRate = nil
        let chat = ChatService(limits: limits)
        var services = ServiceRegistry()
        services.register(chat, as: "chat")
        try await withServiceTest(services, mode: .inMemory) { client in
            let ada = try await client.session(name: "ada")
            var halfway = 0
            var lastJoin: UInt64 = 0
            for cycle in 0..<5000 {
                lastJoin = try await ada.chat(.join(room: "room-\(cycle)", after: nil)).sequence ?? 0
                _ = try await ada.chat(.leave(room: "room-\(cycle)"))
                if cycle == 2500 { halfway = (chat.backplane as? InMemoryChatBackplane)?.forgottenRooms ?? -1 }
            }
            #expect(halfway == 50 && (chat.backplane as? InMemoryChatBackplane)?.forgottenRooms == 50)
            // The newest forgotten rooms' records are kept: the last one continues exactly after
            // its join and leave.
            let last = try await ada.chat(.join(room: "room-4999", after: nil))
            #expect(last.sequence == lastJoin + 2)
            // The oldest rooms' records are gone: a recreated one starts above every dropped
            // number (its own last was 2, its join and its leave), never back at 1.
            let again = try await ada.chat(.join(room: "room-0", after: nil))
            #expect((again.sequence ?? 0) > 2)
        }
    }

    @Test("a subscription that falls too far behind gets what it holds, then ends")
    func laggingSubscriptionEnds() async throws {
        let backplane = InMemoryChatBackplane(historySize: 10)
        let subscription = try await backplane.subscribe(to: "busy")
        let event = ChatEvent(kind: .message, room: nil, sequence: nil, from: 1, name: "ada", time: 0)
        for _ in 0..<(InMemoryChatBackplane.subscriptionBuffer + 50) {
            _ = try await backplane.append(event, to: "busy")
        }
        var delivered: [UInt64] = []
        for await entry in subscription.events { delivered.append(entry.sequence) }
        #expect(delivered == Array(1...UInt64(InMemoryChatBackplane.subscriptionBuffer)))
        // The room goes on without it, and history is there to catch up from.
        let latest = try await backplane.history(of: "busy", after: 0).latest
        #expect(latest == UInt64(InMemoryChatBackplane.subscriptionBuffer + 50))
    }

    @Test("forgetting a room ends its subscriptions")
    func forgetEndsSubscriptions() async throws {
        let backplane = InMemoryChatBackplane()
        let subscription = try await backplane.subscribe(to: "gone")
        backplane.forget("gone")
        var delivered = 0
        for await _ in subscription.events { delivered += 1 }
        #expect(delivered == 0)
    }
}
