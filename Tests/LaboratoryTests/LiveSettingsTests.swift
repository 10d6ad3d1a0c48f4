import LaboratoryClient
import LaboratoryTestSupport
import Testing

@testable import Laboratory

/// `LaboratoryServer.reload(_:)`: what it reports as changed (a pure comparison), and what a real
/// server does with new settings while sessions are open.
@Suite("Live settings and reload", .timeLimit(.minutes(1)))
struct LiveSettingsTests {
    static func settings() throws -> LiveSettings {
        LiveSettings(configuration: try ServerConfiguration(hostKey: TestKeys.identity, password: "first password"))
    }

    @Test("changes name each setting that differs with its old and new value, and never the password")
    func changesAreNamed() throws {
        let old = try Self.settings()
        #expect(old.changes(from: old).isEmpty)

        var new = old
        try new.setPassword("second password")
        new.admission.maximumConnections = 10
        new.admission.maxStartups = MaxStartups(start: 1, rate: 50, full: 2)
        new.admission.penalties.exempt = ["10.0.0.0/8", "::1"]
        new.admission.penalties.perSecondUnfinished = .milliseconds(250)
        let changes = new.changes(from: old)
        #expect(
            changes == [
                "password", "admission.maximumConnections 16384 -> 10", "admission.maxStartups 64:30:256 -> 1:50:2",
                "admission.penalties.perSecondUnfinished 0.600s -> 0.250s",
                "admission.penalties.exempt [] -> [10.0.0.0/8,::1]",
            ])
        #expect(!changes.joined().contains("first password") && !changes.joined().contains("second password"))

        // The same password set again is no change.
        var same = old
        try same.setPassword("first password")
        #expect(same.changes(from: old).isEmpty)
    }

    @Test("an unacceptable password is refused and leaves the settings as they were")
    func badPasswordRefused() throws {
        let old = try Self.settings()
        for bad in ["", "PASSWORD", String(repeating: "x", count: 10_000)] {
            var settings = old
            #expect(throws: ConfigurationError.self) { try settings.setPassword(bad) }
            #expect(settings == old)
        }
    }

    @Test("concurrent reloads leave the password and the admission policy of one and the same reload")
    func concurrentReloadsStayWhole() async throws {
        let admission = Admission(policy: AdmissionPolicy())
        let box = LiveSettingsBox(try Self.settings(), admission: admission)
        await withTaskGroup(of: Void.self) { group in
            for round in 1...200 {
                group.addTask {
                    var settings = box.current
                    try? settings.setPassword("password \(round)")
                    settings.admission.maximumConnections = round
                    _ = box.replace(with: settings)
                }
            }
        }
        let final = box.current
        #expect(admission.policy == final.admission)
        var expected = final
        try expected.setPassword("password \(final.admission.maximumConnections)")
        #expect(expected == final)
    }

    @Test("a new password: open sessions go on, new connections need it, the old one is refused")
    func passwordReload() async throws {
        try await LiveServer.with(Tweak { $0.admission.penalties.wrongPasswordDelay = .milliseconds(20) }) { live in
            let open = try await live.connect(name: "open")
            var settings = live.server.liveSettings
            try settings.setPassword("a brand new password")
            #expect(live.server.reload(settings) == ["password"])
            #expect(live.server.liveSettings == settings)

            #expect(try await open.request(service: "echo", body: [7]) == [7])
            let old = await #expect(throws: ClientError.self) { try await live.connect(name: "late") }
            #expect(old?.code == .wrongPassword)
            let new = try await ClientSession.connect(
                host: "127.0.0.1", port: live.port, password: "a brand new password", name: "new",
                trust: .pinned(fingerprint: live.fingerprint))
            #expect(try await new.request(service: "echo", body: [8]) == [8])
            #expect(try await open.request(service: "echo", body: [9]) == [9])
            await new.close()
            await open.close()
        }
    }

    @Test("a lower connection limit refuses newcomers and closes nothing; raising it lets them in")
    func limitReload() async throws {
        try await LiveServer.with { live in
            let first = try await live.connect(name: "first")
            let second = try await live.connect(name: "second")
            var settings = live.server.liveSettings
            settings.admission.maximumConnections = 2
            #expect(live.server.reload(settings) == ["admission.maximumConnections 16384 -> 2"])

            let refused = await #expect(throws: ClientError.self) { try await live.connect(name: "third") }
            #expect(refused?.description.contains("too many connections") == true, "\(String(describing: refused))")
            #expect(try await first.request(service: "echo", body: [1]) == [1])
            #expect(try await second.request(service: "echo", body: [2]) == [2])

            settings.admission.maximumConnections = 3
            live.server.reload(settings)
            let third = try await live.connect(name: "third")
            #expect(try await third.request(service: "echo", body: [3]) == [3])
            for session in [first, second, third] { await session.close() }
        }
    }
}
