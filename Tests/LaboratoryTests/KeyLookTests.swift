import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

@testable import Laboratory

/// A client that has never seen the server's key looks at it (reads the hello, sends nothing,
/// closes), asks its user, and connects again: that look is free, once per source per minute.
/// Everything else a source does at the hello still earns its penalty.
@Suite("A look at the server's key", .timeLimit(.minutes(1)))
struct KeyLookTests {
    private static let peerClosed = CloseReason(.peerClosed, "the client closed the connection")

    private static func ticket(_ admission: Admission, _ source: String) throws -> AdmissionTicket {
        guard case .admitted(let ticket) = admission.admit(source: source) else {
            Issue.record("\(source) was refused")
            throw RawClientError("refused")
        }
        return ticket
    }

    @Test("one free look per source per interval; a second look, a slow one, or a violation is penalised")
    func onlyOneFreeLook() throws {
        let admission = Admission(policy: AdmissionPolicy())
        let first = try Self.ticket(admission, "10.0.0.1")
        admission.penalize(first, for: Self.peerClosed, wasAuthenticated: false, atHello: true)
        #expect(admission.counts.trackedSources == 0)
        // Looking again within the interval is the usual disconnect before authentication.
        let second = try Self.ticket(admission, "10.0.0.1")
        admission.penalize(second, for: Self.peerClosed, wasAuthenticated: false, atHello: true)
        #expect(admission.counts.trackedSources == 1)
        // Another address has its own look; a close after the hello (a message sent) is no look.
        let other = try Self.ticket(admission, "10.0.0.2")
        admission.penalize(other, for: Self.peerClosed, wasAuthenticated: false, atHello: false)
        #expect(admission.counts.trackedSources == 2)
        // Garbage instead of the key exchange is a violation, look or not.
        let garbage = try Self.ticket(admission, "10.0.0.3")
        admission.penalize(
            garbage, for: CloseReason(.protocolViolation, "bad"), wasAuthenticated: false, atHello: true)
        #expect(admission.counts.trackedSources == 3)
        // A look that held its slot longer than a look takes is holding, not looking.
        var slow = AdmissionPolicy()
        slow.penalties.keyLookHeld = .zero
        let holding = Admission(policy: slow)
        let held = try Self.ticket(holding, "10.0.0.4")
        holding.penalize(held, for: Self.peerClosed, wasAuthenticated: false, atHello: true)
        #expect(holding.counts.trackedSources == 1)
    }

    @Test("the record of looks is per penalty key, expires after the interval, and cannot be flushed")
    func lookRecord() {
        var policy = AdmissionPolicy()
        policy.penalties.maximumTrackedSources = 2
        var table = AdmissionTable(policy: policy)
        let start = ContinuousClock.now
        func look(_ source: String, at seconds: Int64) -> Bool {
            table.takeKeyLook(SourceAddress(source), at: start + .seconds(seconds))
        }
        #expect(look("10.0.0.1", at: 0))
        #expect(!look("10.0.0.1", at: 59))
        #expect(look("10.0.0.1", at: 60))
        // IPv6 addresses of one /64 share a look, as they share a penalty.
        #expect(look("2001:db8::1", at: 60))
        #expect(!look("2001:db8::2", at: 61))
        // The record is full of recent looks: a new source's look is not free (an attacker cycling
        // addresses cannot push the others out to look again), until the old ones expire.
        #expect(!look("10.0.0.9", at: 61))
        #expect(look("10.0.0.9", at: 121))
    }

    @Test("live: a look then a real connection earns nothing; repeated looks are locked out")
    func live() async throws {
        // A 2 s threshold: two penalised closes (1 s each) lock a source out at once.
        try await LiveServer.with(Tweak { $0.admission.penalties.threshold = .seconds(2) }) { live in
            // First use: look at the key from 127.0.0.1, then connect for real from there.
            var look = try await RawClient.connect(port: live.port, from: "127.0.0.1")
            #expect(await look.nextFrame() != nil)
            await look.close()
            #expect(await Self.settled(live.server))
            #expect(await live.server.connectionCounts.trackedSources == 0)
            let session = try await live.connect()
            #expect(try await session.request(service: "echo", body: [7]) == [7])
            await session.close()
            #expect(await Self.settled(live.server))
            #expect(await live.server.connectionCounts.trackedSources == 0)

            // An attacker looking again and again from 127.0.0.7: the first look is free, the
            // rest are penalised, and the address is soon refused.
            var refusedAfter: Int?
            for attempt in 1...10 {
                var raw = try await RawClient.connect(port: live.port, from: "127.0.0.7")
                let first = try #require(await raw.nextFrame())
                if case .closing(let reason)? = try? ServerMessage(decoding: first) {
                    #expect(reason.code == .refused)
                    refusedAfter = attempt - 1
                    break
                }
                await raw.close()
                #expect(await Self.settled(live.server))
                if attempt == 1 { #expect(await live.server.connectionCounts.trackedSources == 0) }
            }
            let looks = try #require(refusedAfter, "repeated looks were never refused")
            // One free, then at least two penalised ones (three or more on a slow machine, as the
            // penalty decays between them).
            #expect(looks >= 3)
        }
    }

    /// Waits (bounded) until no connection is open: the last close has been penalised or not.
    private static func settled(_ server: LaboratoryServer) async -> Bool {
        let deadline = ContinuousClock.now + Sanitizer.slack(.seconds(10))
        while ContinuousClock.now < deadline {
            if await server.connectionCounts.total == 0 { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
