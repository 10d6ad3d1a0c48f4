import Laboratory
import LaboratoryProtocol
import LaboratoryTesting
import Testing

@Suite("Chat regressions", .timeLimit(.minutes(1)))
struct ChatRegressionTests {
    @Test("resuming after the largest sequence number does not overflow", arguments: ServiceTestMode.allCases)
    func hugeAfter(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: "x", after: nil))
            let bob = try await client.session(name: "bob")
            let reply = try await bob.chat(.join(room: "x", after: UInt64.max))
            #expect(reply.replayed == 0 && reply.missedFrom == nil)
            #expect(try await ada.request("echo", [1]) == [1])
        }
    }

    @Test(
        "a join refused at the room limit does not use up one of the connection's rooms",
        arguments: ServiceTestMode.allCases)
    func failedJoinKeepsSlot(mode: ServiceTestMode) async throws {
        // The opening of ChatServiceTests.limits, by design: each test states the limits it runs under.
        var limits = ChatLimits()
        limits.maximumRooms = 1
        limits.maximumRoomsPerConnection = 1
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: "only", after: nil))
            let bob = try await client.session(name: "bob")
            let refused = try await #require(throws: ServiceTestError.self) {
                try await bob.chat(.join(room: "another", after: nil))
            }
            #expect(refused.message.contains("limit of 1 rooms"))
            // Bob is in no room, so his one slot is free.
            _ = try await bob.chat(.join(room: "only", after: nil))
            #expect(try await bob.chat(.who(room: "only")).members?.count == 2)
        }
    }

    @Test("an empty room is forgotten to make space for a new one", arguments: ServiceTestMode.allCases)
    func evictsEmptyRoom(mode: ServiceTestMode) async throws {
        var limits = ChatLimits()
        limits.maximumRooms = 1
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: "first", after: nil))
            _ = try await ada.chat(.leave(room: "first"))
            _ = try await ada.chat(.join(room: "second", after: nil))
            #expect(try await ada.chat(.rooms()).rooms?.map(\.name) == ["second"])
        }
    }
}
