import Laboratory
import LaboratoryProtocol
import LaboratoryTesting
import Testing

@Suite("Chat through the test kit", .timeLimit(.minutes(1)))
struct ChatServiceTests {
    @Test("join, say, presence: every member gets the same numbered events", arguments: ServiceTestMode.allCases)
    func roomBasics(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let (ada, bob) = try await adaAndBob(client)
            var adaEvents = ChatEvents(ada)
            var bobEvents = ChatEvents(bob)

            let joined = try await ada.chat(.join(room: "lobby", after: nil))
            #expect(joined.members == [ChatMember(id: ada.connectionID, name: "ada")])
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            let said = try await bob.chat(.say(room: "lobby", text: "hello"))
            #expect(said.sequence == 3)

            let seenByAda = try await adaEvents.next(3)
            #expect(seenByAda.map(\.kind) == [.joined, .joined, .message])
            #expect(seenByAda.map(\.sequence) == [1, 2, 3])
            #expect(seenByAda[2].text == "hello" && seenByAda[2].name == "bob" && seenByAda[2].from == bob.connectionID)
            let seenByBob = try await bobEvents.next(2)
            #expect(seenByBob.map(\.sequence) == [2, 3])
            #expect(seenByBob[1] == seenByAda[2])

            let rooms = try await ada.chat(.rooms())
            #expect(rooms.rooms == [ChatRoomSummary(name: "lobby", members: 2)])
            let who = try await ada.chat(.who(room: "lobby"))
            #expect(
                Set(who.members ?? []) == [
                    ChatMember(id: ada.connectionID, name: "ada"), ChatMember(id: bob.connectionID, name: "bob"),
                ])

            _ = try await bob.chat(.leave(room: "lobby"))
            let left = try #require(try await adaEvents.next())
            #expect(left.kind == .left && left.from == bob.connectionID && left.sequence == 4)
        }
    }

    @Test("a disconnect is announced as left", arguments: ServiceTestMode.allCases)
    func disconnectAnnounced(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let (ada, bob, adaEvents) = try await lobby(client)
            var events = adaEvents
            await bob.disconnect()
            let seen = try await events.next(3)
            #expect(seen.map(\.kind) == [.joined, .joined, .left])
            #expect(seen[2].from == bob.connectionID)
            #expect(try await ada.chat(.who(room: "lobby")).members?.map(\.id) == [ada.connectionID])
        }
    }

    @Test("rename is visible to the room and to services", arguments: ServiceTestMode.allCases)
    func rename(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let (ada, bob, adaEvents) = try await lobby(client)
            var events = adaEvents
            try await bob.rename(to: "Robert")
            _ = try await bob.chat(.say(room: "lobby", text: "new name"))
            let seen = try await events.next(4)
            #expect(seen[2].kind == .renamed && seen[2].name == "Robert" && seen[2].oldName == "bob")
            #expect(seen[3].kind == .message && seen[3].name == "Robert")
            #expect(
                try await ada.chat(.who(room: "lobby")).members?.contains(
                    ChatMember(id: bob.connectionID, name: "Robert")) == true)
        }
    }

    @Test("resume replays exactly the missed events, and says when some are gone", arguments: ServiceTestMode.allCases)
    func resume(mode: ServiceTestMode) async throws {
        var limits = ChatLimits()
        limits.historySize = 10
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: "lobby", after: nil))  // sequence 1
            for index in 1...5 { _ = try await ada.chat(.say(room: "lobby", text: "m\(index)")) }  // 2...6
            let bob = try await client.session(name: "bob")
            var bobEvents = ChatEvents(bob)
            let reply = try await bob.chat(.join(room: "lobby", after: 3))
            #expect(reply.replayed == 3)
            #expect(reply.missedFrom == nil)
            let replayed = try await bobEvents.next(4)
            #expect(replayed.map(\.sequence) == [4, 5, 6, 7])
            #expect(replayed.prefix(3).map(\.text) == ["m3", "m4", "m5"])
            #expect(replayed[3].kind == .joined && replayed[3].from == bob.connectionID)

            for index in 6...20 { _ = try await ada.chat(.say(room: "lobby", text: "m\(index)")) }  // 8...22
            let carol = try await client.session(name: "carol")
            var carolEvents = ChatEvents(carol)
            let gap = try await carol.chat(.join(room: "lobby", after: 5))
            // History holds 13...22: 6...12 are gone.
            #expect(gap.missedFrom == 6 && gap.missedTo == 12)
            #expect(gap.replayed == 10)
            #expect(try await carolEvents.next(10).map(\.sequence) == Array(13...22))
        }
    }

    @Test("direct messages reach only their recipient", arguments: ServiceTestMode.allCases)
    func direct(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let (ada, bob) = try await adaAndBob(client)
            var bobEvents = ChatEvents(bob)
            _ = try await bob.chat(.rooms())  // bob is now on chat
            _ = try await ada.chat(.direct(to: bob.connectionID, text: "psst"))
            let event = try #require(try await bobEvents.next())
            #expect(
                event.kind == .direct && event.text == "psst" && event.from == ada.connectionID && event.room == nil)
            let error = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.direct(to: 9999, text: "anyone?"))
            }
            #expect(error.message.contains("9999"))
        }
    }

    @Test("limits are enforced with clear errors", arguments: ServiceTestMode.allCases)
    func limits(mode: ServiceTestMode) async throws {
        var limits = ChatLimits()
        limits.maximumRoomsPerConnection = 2
        limits.maximumMessageBytes = 10
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            for (request, fragment) in [
                (ChatRequest.join(room: "Has Spaces", after: nil), "lowercase"),
                (.join(room: String(repeating: "a", count: 33), after: nil), "1 to 32"),
                (.say(room: "lobby", text: "x"), "no room"),
            ] {
                let error = try await #require(throws: ServiceTestError.self) { try await ada.chat(request) }
                #expect(error.status == .serviceError)
                #expect(error.message.contains(fragment), "\(error.message)")
            }
            _ = try await ada.chat(.join(room: "one", after: nil))
            _ = try await ada.chat(.join(room: "two", after: nil))
            let tooMany = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.join(room: "three", after: nil))
            }
            #expect(tooMany.message.contains("limit"))
            let tooLong = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.say(room: "one", text: "more than ten bytes"))
            }
            #expect(tooLong.message.contains("exceeds"))
            let bob = try await client.session(name: "bob")
            let notMember = try await #require(throws: ServiceTestError.self) {
                try await bob.chat(.say(room: "one", text: "hi"))
            }
            #expect(notMember.message.contains("join it first"))
            let garbage = try await #require(throws: ServiceTestError.self) { try await ada.request("chat", [0xFF]) }
            #expect(garbage.message.contains("not a chat request"))
        }
    }
}
