import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryTestSupport
import Testing

@Suite("Client trust and failures, live", .timeLimit(.minutes(1)))
struct ClientTrustLiveTests {
    @Test("trust on first use records the key, then refuses a server whose key changed")
    func trustOnFirstUse() async throws {
        let knownHosts = FileManager.default.temporaryDirectory
            .appendingPathComponent("tofu-\(UUID().uuidString)").path
        let port = try await LiveServer.with { live in
            let session = try await ClientSession.connect(
                host: "127.0.0.1", port: live.port, password: LiveServer.password, name: "ada",
                trust: .knownHosts(file: knownHosts))
            await session.close()
            let recorded = try KnownHostsFile(path: knownHosts).fingerprint(for: "127.0.0.1:\(live.port)")
            #expect(recorded == live.fingerprint)
            return live.port
        }
        // A different server key on the same address.
        let otherKey = TestKeys.other
        try await LiveServer.with(
            Tweak {
                $0.hostKey = otherKey
                $0.port = port
            }
        ) { live in
            let error = try await #require(throws: ClientError.self) {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: LiveServer.password, name: "ada",
                    trust: .knownHosts(file: knownHosts))
            }
            #expect(error.code == .serverKeyMismatch)
            #expect(error.message.contains(otherKey.publicKey.fingerprint))
        }
    }

    @Test("a refused connection says so")
    func refused() async throws {
        // Bind and release a port so that nothing listens on it.
        let port = try await LiveServer.with { $0.port }
        let error = try await #require(throws: ClientError.self) {
            try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: "x", name: "ada", trust: .acceptAnyKey)
        }
        #expect(error.code == .connectionFailed)
        #expect(error.step == .connecting)
    }

    @Test("requests after the server closed the session fail with the server's reason")
    func requestsAfterClose() async throws {
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .milliseconds(100) }) { live in
            let session = try await live.connect()
            var events = session.events.makeAsyncIterator()
            await live.group.triggerGracefulShutdown()
            while let event = await events.next() {
                if case .closed = event { break }
            }
            let error = try await #require(throws: ClientError.self) {
                try await session.request(service: "echo", body: [1])
            }
            #expect(error.code == .connectionClosed)
            #expect(error.closeReason?.code == .serverStopping)
        }
    }
}
