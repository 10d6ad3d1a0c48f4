import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

@_spi(Testing) @testable import Laboratory

/// A locked-out address is told for how long: on the wire (`retry_ms`), in the Swift client's
/// error and in the terminal client's one line.
@Suite("Lockout notice (live)", .timeLimit(.minutes(1)))
struct LockoutNoticeLiveTests {
    /// One wrong password locks the source out for about 100 s (115 s against the 15 s threshold).
    static var lockingOut: Tweak {
        Tweak {
            $0.admission.penalties.wrongPassword = .seconds(115)
            $0.admission.penalties.wrongPasswordDelay = .milliseconds(20)
            $0.admission.penalties.perSecondUnfinished = .zero
        }
    }

    @Test("the refusal carries the remaining lockout; the Swift client's error has it, and so does its one line")
    func clientSeesDuration() async throws {
        let log = CapturedLog()
        try await LiveServer.with(Self.lockingOut, logger: log.logger()) { live in
            var raw = try await RawClient.connect(port: live.port)
            await #expect(throws: RawClientError.self) { _ = try await raw.handshake(password: "a guess") }
            await raw.close()
            await log.waitFor(
                "source locked out: its connections are refused until its penalty falls below the threshold")

            var refused = try await RawClient.connect(port: live.port)
            guard case .closing(let reason)? = try? ServerMessage(decoding: await refused.nextFrame() ?? []) else {
                Issue.record("the locked-out source was not refused")
                return
            }
            let onWire = try #require(reason.retryAfter)
            #expect(reason.code == .refused && onWire > .seconds(90) && onWire <= .seconds(100))
            #expect(reason.message.hasPrefix("too many failures from your address; try again in 1m "))

            let error = try await #require(throws: ClientError.self) { try await live.connect() }
            #expect(error.code == .rejected && error.step == .hello)
            let retryAfter = try #require(error.retryAfter)
            #expect(retryAfter > .seconds(90) && retryAfter <= onWire)
            let report = ExitReport.client(for: error, endpoint: "127.0.0.1:\(live.port)")
            #expect(report.status == .temporaryFailure)
            #expect(report.message.contains("locked out for 1m "), "\(report.message)")
        }
        let refusal = try #require(log.events("connection refused").first)
        #expect(refusal.metadata["reason"]?.description.contains("try again in 1m ") == true)
    }

    @Test("other refusals carry no retry_ms")
    func otherRefusals() async throws {
        try await LiveServer.with(Tweak { $0.admission.maximumUnauthenticatedPerSource = 1 }) { live in
            var first = try await RawClient.connect(port: live.port)
            _ = try await first.readHello()
            var second = try await RawClient.connect(port: live.port)
            guard case .closing(let reason)? = try? ServerMessage(decoding: await second.nextFrame() ?? []) else {
                Issue.record("the second unfinished handshake was not refused")
                return
            }
            #expect(reason.code == .refused && reason.retryAfter == nil)
            #expect(reason.message == "too many unfinished handshakes from your address")
            await first.close()
        }
    }
}
