import Laboratory
import LaboratoryClient
import LaboratoryTestSupport
import Testing

/// A service that holds every request until the test opens the gate.
struct GateService: LaboratoryService {
    let gate: Gate

    func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws -> [UInt8] {
        await gate.wait()
        return body
    }
}

actor Gate {
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var open = false
    private var arrived = 0
    private var arrivalWatchers: [(count: Int, waiter: CheckedContinuation<Void, Never>)] = []

    func wait() async {
        arrived += 1
        for watcher in arrivalWatchers where watcher.count <= arrived { watcher.waiter.resume() }
        arrivalWatchers.removeAll { $0.count <= arrived }
        if open { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func waitUntilArrived(_ count: Int) async {
        if arrived >= count { return }
        await withCheckedContinuation { arrivalWatchers.append((count, $0)) }
    }

    func openAll() {
        open = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

@Suite("Outstanding request limit", .timeLimit(.minutes(1)))
struct RequestLimitTests {
    @Test("requests beyond the per-session limit are rejected; the others complete")
    func limit() async throws {
        let gate = Gate()
        var services = ServiceRegistry()
        services.register(GateService(gate: gate), as: "gate")
        try await LiveServer.with(Tweak { $0.maximumOutstandingRequests = 4 }, services: services) { live in
            let session = try await live.connect()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        let reply = try await session.request(service: "gate", body: [UInt8(index)])
                        #expect(reply == [UInt8(index)])
                    }
                }
                await gate.waitUntilArrived(4)
                let error = try await #require(throws: ClientError.self) {
                    try await session.request(service: "gate", body: [9])
                }
                #expect(error.responseStatus == .rejected)
                #expect(error.message.contains("limit is 4"))
                await gate.openAll()
                try await group.waitForAll()
            }
            #expect(try await session.request(service: "gate", body: [5]) == [5])
            await session.close()
        }
    }

    /// The reader serves requests inside a task group and leaves it when a frame that is not a
    /// request arrives with nothing in flight. A ping while a request is in flight must not make
    /// the reader wait for that request (leaving the group would), and requests after the reader
    /// has left must be served as before.
    @Test("pings are answered while a request is in flight; the session serves again after going quiet")
    func pingsWhileBusyAndRequestsAfterQuiet() async throws {
        let gate = Gate()
        var services = ServiceRegistry()
        services.register(GateService(gate: gate), as: "gate")
        try await LiveServer.with(services: services) { live in
            let session = try await live.connect()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let reply = try await session.request(service: "gate", body: [1])
                    #expect(reply == [1])
                }
                await gate.waitUntilArrived(1)
                // Answered by the reader while the request waits at the gate.
                _ = try await session.ping()
                _ = try await session.ping()
                await gate.openAll()
                try await group.waitForAll()
            }
            // Nothing in flight: this ping's frame takes the reader out of the group.
            _ = try await session.ping()
            #expect(try await session.request(service: "gate", body: [2]) == [2])
            _ = try await session.ping()
            #expect(try await session.request(service: "gate", body: [3]) == [3])
            await session.close()
        }
    }
}
