import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOConcurrencyHelpers
import Testing

@_spi(Testing) @testable import Laboratory

/// A display name the server refuses after the right password: the Swift client is told why and
/// offers another on the same connection, and nothing about it earns the address a penalty.
@Suite("Name retry (live)", .timeLimit(.minutes(1)))
struct NameRetryLiveTests {
    @Test("a rejected name is retried on the same connection; the session runs under the accepted name")
    func retryOnSameConnection() async throws {
        let log = CapturedLog()
        try await LiveServer.with(logger: log.logger()) { live in
            let seen = NIOLockedValueBox<[NameRejection]>([])
            let session = try await ClientSession.connect(
                host: "127.0.0.1", port: live.port, password: LiveServer.password, name: " ada",
                trust: .pinned(fingerprint: live.fingerprint)
            ) { rejection in
                seen.withLockedValue { $0.append(rejection) }
                return seen.withLockedValue { $0.count } == 1 ? "ada\u{7}" : "ada"
            }
            #expect(session.acceptedName == "ada")
            #expect(
                seen.withLockedValue { $0 } == [
                    NameRejection(reason: "display name starts or ends with whitespace", attemptsLeft: 2),
                    NameRejection(reason: "display name contains the disallowed character U+7", attemptsLeft: 1),
                ])
            #expect(try await session.request(service: "echo", body: [1]) == [1])
            await session.close()
            await log.waitFor("connection closed")
            #expect(await live.server.connectionCounts.trackedSources == 0, "no penalty was recorded")
        }
        let rejected = log.events("name rejected")
        #expect(rejected.count == 2 && rejected.allSatisfy { $0.level == .debug })
        #expect(rejected.first?.metadata["attempts_left"]?.description == "2")
        #expect(rejected.last?.metadata["reason"]?.description.contains("U+7") == true)
        #expect(log.events("accepted").first?.metadata["name"]?.description == "\"ada\"")
    }

    @Test("out of attempts: the server closes with code 7, the client reports it as a rejected name, no penalty")
    func attemptsRunOut() async throws {
        try await LiveServer.with { live in
            let asked = NIOLockedValueBox(0)
            let error = try await #require(throws: ClientError.self) {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: LiveServer.password, name: "",
                    trust: .pinned(fingerprint: live.fingerprint)
                ) { _ in
                    asked.withLockedValue { $0 += 1 }
                    return ""
                }
            }
            #expect(asked.withLockedValue { $0 } == 2)
            #expect(error.code == .nameRejected && error.closeReason?.code == .invalidName)
            #expect(error.nameRejection == NameRejection(reason: "display name is empty", attemptsLeft: 0))
            // Giving up (nil) closes at the name prompt: no penalty either.
            _ = try await #require(throws: ClientError.self) {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: LiveServer.password, name: "",
                    trust: .pinned(fingerprint: live.fingerprint)
                ) { _ in nil }
            }
            // Both ends have been processed once the counts show no connection.
            while await live.server.connectionCounts.total > 0 { await Task.yield() }
            #expect(await live.server.connectionCounts.trackedSources == 0)
        }
    }
}
