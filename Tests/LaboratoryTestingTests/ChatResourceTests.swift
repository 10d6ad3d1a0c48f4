import Laboratory
import LaboratoryProtocol
import LaboratoryTesting
import Testing

/// Issue 12 §5: what one authenticated session can make the chat service hold or do.
@Suite("Chat resource bounds", .timeLimit(.minutes(3)))
struct ChatResourceTests {
    @Test("creating and leaving rooms without end leaves the directory's tables bounded by the room limit")
    func roomChurn() async throws {
        var limits = ChatLimits()
        limits.maximumRooms = 100
        limits.membershipRate = nil
        let chat = ChatService(limits: limits)
        var services = ServiceRegistry()
        services.register(chat, as: "chat")
        // 100,000 cycles (1,000 times the room limit), each a room that never existed before: before the fix the directory kept
        // an entry for every one of them. Measured in memory (the service's own path, without
        // sockets) so that a debug build runs them in seconds; the release figure over a million
        // cycles is in the issue note.
        let cycles = 100_000
        var halfway: ChatBookkeeping?
        try await withServiceTest(services, mode: .inMemory) { client in
            let ada = try await client.session(name: "ada")
            for cycle in 0..<cycles {
                let room = "room-\(cycle)"
                _ = try await ada.chat(.join(room: room, after: nil))
                _ = try await ada.chat(.leave(room: room))
                if cycle == cycles / 2 { halfway = await chat.bookkeeping }
            }
            let end = await chat.bookkeeping
            #expect(end == ChatBookkeeping(rooms: 100, sortedNames: 100, emptyRooms: 100, sessions: 1, memberships: 0))
            #expect(halfway == end, "the tables grew between the middle and the end of the churn")
            // The newest rooms are the ones kept, in name order, all empty.
            let page = try await ada.chat(.rooms(limit: 100))
            #expect(page.rooms?.count == 100 && page.next == nil)
            #expect(page.rooms?.allSatisfy { $0.members == 0 } == true)
            #expect(page.rooms?.contains { $0.name == "room-\(cycles - 1)" } == true)
            await ada.disconnect()
        }
        #expect(await chat.bookkeeping.sessions == 0)
    }

    @Test("a room that still has members is never forgotten, and its member count follows joins, leaves and ends")
    func countsFollowMembers() async throws {
        var limits = ChatLimits()
        limits.maximumRooms = 2
        let chat = ChatService(limits: limits)
        var services = ServiceRegistry()
        services.register(chat, as: "chat")
        try await withServiceTest(services, mode: .inMemory) { client in
            let ada = try await client.session(name: "ada")
            let bob = try await client.session(name: "bob")
            _ = try await ada.chat(.join(room: "a", after: nil))
            _ = try await bob.chat(.join(room: "a", after: nil))
            _ = try await bob.chat(.join(room: "b", after: nil))
            let full = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.join(room: "c", after: nil))
            }
            #expect(full.message.contains("limit of 2 rooms"))
            #expect(try await ada.chat(.rooms()).rooms == [.init(name: "a", members: 2), .init(name: "b", members: 1)])
            await bob.disconnect()
            #expect(try await ada.chat(.rooms()).rooms == [.init(name: "a", members: 1), .init(name: "b", members: 0)])
            // "b" is empty now, so "c" replaces it.
            _ = try await ada.chat(.join(room: "c", after: nil))
            #expect(try await ada.chat(.rooms()).rooms == [.init(name: "a", members: 1), .init(name: "c", members: 1)])
            #expect(
                await chat.bookkeeping
                    == ChatBookkeeping(rooms: 2, sortedNames: 2, emptyRooms: 0, sessions: 1, memberships: 2))
        }
    }

    @Test(
        "rooms and who answer one bounded page at a time; the cursors visit every entry once",
        arguments: ServiceTestMode.allCases)
    func pagination(mode: ServiceTestMode) async throws {
        var limits = ChatLimits()
        limits.membershipRate = nil
        limits.listingRate = nil
        limits.maximumPageSize = 10
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            // 37 rooms, created in an order that is not their name order.
            let names = (0..<37).map { "r\(($0 * 17) % 37)" }
            for name in names {
                _ = try await ada.chat(.join(room: name, after: nil))
                _ = try await ada.chat(.leave(room: name))
            }
            var listed: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let reply = try await ada.chat(.rooms(after: cursor))
                #expect((reply.rooms?.count ?? 0) <= 10)
                listed += reply.rooms?.map(\.name) ?? []
                cursor = reply.next
                pages += 1
            } while cursor != nil && pages < 100
            #expect(listed == names.sorted())
            #expect(pages == 4)
            #expect(try await ada.chat(.rooms(limit: 3)).rooms?.map(\.name) == Array(names.sorted().prefix(3)))
            #expect(try await ada.chat(.rooms(after: "r9")).rooms == [])

            for bad in [0, 11, -1] {
                let error = try await #require(throws: ServiceTestError.self) { try await ada.chat(.rooms(limit: bad)) }
                #expect(error.message.contains("limit must be 1 to 10"))
            }

            // who: 12 members, pages of 5.
            var sessions = [ada]
            for index in 0..<11 { sessions.append(try await client.session(name: "m\(index)")) }
            for session in sessions { _ = try await session.chat(.join(room: "big", after: nil)) }
            var members: [UInt64] = []
            cursor = nil
            repeat {
                let reply = try await ada.chat(.who(room: "big", after: cursor, limit: 5))
                members += reply.members?.map(\.id) ?? []
                cursor = reply.next
            } while cursor != nil && members.count < 100
            #expect(members == sessions.map(\.connectionID).sorted())
            // join's reply lists the first page and says that more follow.
            let newcomer = try await client.session(name: "late")
            let joined = try await newcomer.chat(.join(room: "big", after: nil))
            #expect(joined.members?.count == 10 && joined.next != nil)
            let badCursor = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.who(room: "big", after: "lobby"))
            }
            #expect(badCursor.message.contains("not a cursor"))
        }
    }

    @Test(
        "listing and membership requests beyond the session's rate are rejected with a retry time; other sessions are not",
        arguments: ServiceTestMode.allCases)
    func rateLimits(mode: ServiceTestMode) async throws {
        var limits = ChatLimits()
        // A rate slow enough that the test never sees a token come back: the burst is all there is.
        limits.listingRate = RequestRate(perSecond: 0.01, burst: 3)
        limits.membershipRate = RequestRate(perSecond: 0.01, burst: 2)
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            for _ in 0..<3 { _ = try await ada.chat(.rooms()) }
            let limited = try await #require(throws: ServiceTestError.self) { try await ada.chat(.who(room: "x")) }
            #expect(limited.status == .rejected)
            #expect(
                limited.message.contains("rate limited") && limited.message.contains("retry in"), "\(limited.message)")
            _ = try await ada.chat(.join(room: "lobby", after: nil))
            _ = try await ada.chat(.join(room: "other", after: nil))
            let joins = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.leave(room: "lobby"))
            }
            #expect(joins.status == .rejected && joins.message.contains("join and leave"))
            // Saying something draws on the delivery budget only.
            _ = try await ada.chat(.say(room: "lobby", text: "still here"))
            // Budgets are per session.
            let bob = try await client.session(name: "bob")
            #expect(try await bob.chat(.rooms()).rooms?.count == 2)
        }
    }

    @Test(
        "messages cost one delivery per member of their room; a direct message costs one",
        arguments: ServiceTestMode.allCases)
    func deliveryBudget(mode: ServiceTestMode) async throws {
        // The opening of rateLimits, by design: each test states the limits it runs under.
        var limits = ChatLimits()
        limits.deliveryRate = RequestRate(perSecond: 0.01, burst: 10)
        try await withServiceTest(registry(limits), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            var members = [ada]
            for name in ["bob", "cy", "dee"] { members.append(try await client.session(name: name)) }
            for member in members { _ = try await member.chat(.join(room: "lobby", after: nil)) }
            // Four members: two says cost 8 of ada's 10 deliveries; the third would cost 4 more.
            _ = try await ada.chat(.say(room: "lobby", text: "one"))
            _ = try await ada.chat(.say(room: "lobby", text: "two"))
            let limited = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.say(room: "lobby", text: "three"))
            }
            #expect(limited.status == .rejected)
            #expect(limited.message.contains("deliveries") && limited.message.contains("reach 4"), "\(limited.message)")
            // The 2 left pay for direct messages, one each; then the budget is spent.
            let bob = members[1].connectionID
            _ = try await ada.chat(.direct(to: bob, text: "hi"))
            _ = try await ada.chat(.direct(to: bob, text: "hi again"))
            await #expect(throws: ServiceTestError.self) { try await ada.chat(.direct(to: bob, text: "and again")) }
            // Other members' budgets are their own.
            _ = try await members[2].chat(.say(room: "lobby", text: "mine"))
        }
    }

    @Test("a token bucket takes a cost of several tokens, and a cost above the burst as the burst")
    func tokenBucketCost() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(RequestRate(perSecond: 10, burst: 5), now: start)
        #expect(bucket.take(3, at: start) == nil)
        #expect(bucket.take(3, at: start).isAbout(.milliseconds(100)))
        #expect(bucket.take(2, at: start) == nil)
        // Full again after 500 ms (5 tokens, not the 10 the time would give); 4 left after one.
        #expect(bucket.take(at: start + .milliseconds(500)) == nil)
        // 4.5 tokens after another 50 ms; a cost of 50 counts as the burst of 5.
        #expect(bucket.take(50, at: start + .milliseconds(550)).isAbout(.milliseconds(50)))
        #expect(bucket.take(50, at: start + .seconds(2)) == nil)
    }

    @Test("a token bucket refills at its rate up to its burst and says how long until the next token")
    func tokenBucket() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(RequestRate(perSecond: 10, burst: 2), now: start)
        #expect(bucket.take(at: start) == nil)
        #expect(bucket.take(at: start) == nil)
        #expect(bucket.take(at: start).isAbout(.milliseconds(100)))
        #expect(bucket.take(at: start + .milliseconds(50)).isAbout(.milliseconds(50)))
        #expect(bucket.take(at: start + .milliseconds(100)) == nil)
        // A long pause refills only up to the burst.
        #expect(bucket.take(at: start + .seconds(60)) == nil)
        #expect(bucket.take(at: start + .seconds(60)) == nil)
        #expect(bucket.take(at: start + .seconds(60)) != nil)
    }
}

extension Duration? {
    /// Within a microsecond of `expected` (the bucket computes in floating point).
    fileprivate func isAbout(_ expected: Duration) -> Bool {
        guard let self else { return false }
        return self > expected - .microseconds(1) && self < expected + .microseconds(1)
    }
}
