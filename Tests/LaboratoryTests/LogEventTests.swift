import Foundation
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Logging
import Testing

@_spi(Testing) @testable import Laboratory

/// What an operator reads in the log, at which level: a session's life at `debug`, a source's
/// lockout at `info`, nothing from clients above `info`.
@Suite("Log events", .timeLimit(.minutes(2)))
struct LogEventTests {
    @Test("a session's acceptance, joins, leaves, rename and end (with reason and duration) are logged at debug")
    func sessionEvents() async throws {
        let log = CapturedLog()
        try await LiveServer.with(logger: log.logger()) { live in
            let session = try await live.connect(name: "ada")
            _ = try await session.chat(.join(room: "lobby", after: nil))
            _ = try await session.chat(.leave(room: "lobby"))
            try await session.rename(to: "ada2")
            await session.close()
            await log.waitFor("connection closed")
        }
        let connected = try #require(log.events("connected").first)
        #expect(connected.level == .debug && connected.metadata["peer"] != nil)
        let accepted = try #require(log.events("accepted").first)
        #expect(accepted.level == .debug && accepted.metadata["name"]?.description == "\"ada\"")
        #expect(accepted.metadata["connection"] != nil && accepted.metadata["peer"] != nil)
        for message in ["joined room", "left room"] {
            let event = try #require(log.events(message).first)
            #expect(event.level == .debug)
            #expect(event.metadata["room"]?.description == "\"lobby\"" && event.metadata["service"] != nil)
        }
        let renamed = try #require(log.events("renamed").first)
        #expect(renamed.level == .debug)
        #expect(renamed.metadata["from"]?.description == "\"ada\"" && renamed.metadata["to"]?.description == "\"ada2\"")
        let closed = try #require(log.events("connection closed").first)
        #expect(closed.level == .debug && closed.metadata["name"]?.description == "\"ada2\"")
        #expect(closed.metadata["reason"]?.description.contains("normal") == true)
        let duration = try #require(closed.metadata["duration"]?.description)
        #expect(duration.hasSuffix("s") && Double(duration.dropLast()) != nil)
        // Nothing a client did is logged above info.
        #expect(log.all.allSatisfy { $0.level <= .info }, "\(log.all.filter { $0.level > .info }.map(\.textLine))")
    }

    @Test(
        "a wrong password's penalty is logged at debug, the lockout it starts at info with its duration, the refusal at debug"
    )
    func lockout() async throws {
        let log = CapturedLog()
        try await LiveServer.with(
            Tweak {
                // One failure locks the source out for about 5 s (20 s against the 15 s threshold).
                $0.admission.penalties.wrongPassword = .seconds(20)
                $0.admission.penalties.wrongPasswordDelay = .milliseconds(20)
                // Only the wrong password's penalty, none for the time the handshake was open.
                $0.admission.penalties.perSecondUnfinished = .zero
            }, logger: log.logger()
        ) { live in
            var raw = try await RawClient.connect(port: live.port, from: "127.0.0.2")
            await #expect(throws: RawClientError.self) { _ = try await raw.handshake(password: "a guess") }
            await raw.close()
            await log.waitFor(
                "source locked out: its connections are refused until its penalty falls below the threshold")
            var refused = try await RawClient.connect(port: live.port, from: "127.0.0.2")
            let first = try #require(await refused.nextFrame())
            guard case .closing(let reason)? = try? ServerMessage(decoding: first) else {
                Issue.record("the locked-out source was not refused")
                return
            }
            #expect(reason.code == .refused)
            await log.waitFor("connection refused")
        }
        let penalty = try #require(log.events("penalty").first)
        #expect(penalty.level == .debug && penalty.metadata["peer"]?.description == "127.0.0.2")
        #expect(penalty.metadata["added"]?.description == "20.000s")
        let lockout = try #require(log.all.first { $0.message.hasPrefix("source locked out") })
        #expect(lockout.level == .info && lockout.metadata["peer"]?.description == "127.0.0.2")
        let lockedFor = try #require(lockout.metadata["locked_for"].flatMap { Double("\($0)".dropLast()) })
        #expect(lockedFor > 4 && lockedFor <= 5)
        let refusal = try #require(log.events("connection refused").first)
        #expect(refusal.level == .debug && refusal.metadata["peer"]?.description == "127.0.0.2")
        #expect(refusal.metadata["reason"]?.description.contains("too many failures") == true)
        #expect(refusal.metadata["locked_for"] != nil)
        let closed = try #require(log.events("connection closed").first)
        #expect(closed.metadata["reason"]?.description.contains("wrong") == true)
    }

    @Test("a refusal for another reason than a lockout is logged at debug with its reason and no lockout")
    func otherRefusal() async throws {
        let log = CapturedLog()
        try await LiveServer.with(Tweak { $0.admission.maximumUnauthenticatedPerSource = 1 }, logger: log.logger()) {
            live in
            var first = try await RawClient.connect(port: live.port)
            _ = try await first.readHello()
            var second = try await RawClient.connect(port: live.port)
            _ = await second.nextFrame()
            await log.waitFor("connection refused")
            await first.close()
        }
        let refusal = try #require(log.events("connection refused").first)
        #expect(refusal.level == .debug && refusal.metadata["locked_for"] == nil)
        #expect(refusal.metadata["reason"]?.description.contains("too many unfinished handshakes") == true)
    }

    @Test("every operator event has a fixed message and logs at info or below")
    func eventTable() {
        let peer = SourceAddress("192.0.2.1")
        let events: [OperatorEvent] = [
            .connected, .connectionRefused(peer: peer, reason: CloseReason(.refused, "x")),
            .penalty(peer: peer, added: .seconds(1), total: .seconds(2)),
            .lockedOut(peer: peer, lockedFor: .seconds(1), penalty: .seconds(16)),
            .nameRejected(NameRejection(reason: "x\n", attemptsLeft: 1)), .accepted(name: "x\n"),
            .renamed(from: "x\n", to: "y"), .joinedRoom(room: "r", name: "x\n"), .leftRoom(room: "r", name: "x\n"),
            .connectionClosed(reason: CloseReason(.normal, "x\n"), step: "accepted", duration: .seconds(1), name: "x"),
            .transportKeyRotated(fingerprint: "SHA256:x", cause: "lifetime"),
        ]
        #expect(Set(events.map { "\($0.message)" }).count == events.count)
        for event in events {
            #expect(event.level <= .info, "\(event.message)")
            #expect(!"\(event.message)".contains("x\n"))
            // Client text is quoted, so no field value carries a raw newline.
            #expect(event.metadata.values.allSatisfy { !"\($0)".contains("\n") }, "\(event.message)")
        }
    }

    @Test("a transport key rotation is logged at info with the new key's fingerprint and its cause")
    func keyRotation() async throws {
        let log = CapturedLog()
        try await LiveServer.with(
            Tweak {
                $0.transportKeys.keySource = TestKeys.rotation()
                $0.transportKeys.lifetime = .milliseconds(500)
            }, logger: log.logger()
        ) { _ in
            await log.waitFor("transport key rotated")
        }
        let rotated = try #require(log.events("transport key rotated").first)
        #expect(rotated.level == .info)
        #expect(rotated.metadata["cause"]?.description == "lifetime")
        #expect(rotated.metadata["fingerprint"]?.description.hasPrefix("SHA256:") == true)
    }
}
