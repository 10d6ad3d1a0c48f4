import Laboratory
import LaboratoryClient
import LaboratoryHTTP
import LaboratoryTestSupport
import Testing

@Suite("HTTP during a graceful shutdown", .timeLimit(.minutes(1)))
struct DrainingTests {
    @Test("/ready answers 503 while a session finishes and /health 200; HTTP stops when the session ends")
    func readyIsUnavailableWhileDraining() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0))
        // A grace period far beyond the test's time limit: the test passes only if HTTP stops
        // when the last session ends, not when the grace period is over.
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .seconds(600) }, listeners: [http]) { live in
            let port = try #require(http.localAddress?.port)
            let ada = try await live.connect()
            #expect(try await plainHTTPRequest("/ready", port: port).status == 200)

            await live.group.triggerGracefulShutdown()
            // The listener marks itself draining as the shutdown reaches it; each try is a real
            // round trip, so this waits no longer than that takes.
            var ready = try await plainHTTPRequest("/ready", port: port)
            for _ in 0..<1000 where ready.status == 200 { ready = try await plainHTTPRequest("/ready", port: port) }
            #expect(ready.status == 503)
            #expect(ready.body == "draining\n")
            #expect(try await plainHTTPRequest("/health", port: port).status == 200)
            // The session still works while the server drains, and HTTP still answers after it.
            #expect(try await ada.request(service: "echo", body: [1, 2, 3]) == [1, 2, 3])
            #expect(try await plainHTTPRequest("/ready", port: port).status == 503)

            await ada.close()
        }
        // `with` returned: the server and its HTTP listener have stopped.
        let port = try #require(http.localAddress?.port)
        await #expect(throws: (any Error).self) { try await plainHTTPRequest("/health", port: port) }
    }

    @Test("without sessions, HTTP stops with the server at once")
    func stopsAtOnceWithoutSessions() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0))
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .seconds(600) }, listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            #expect(try await plainHTTPRequest("/ready", port: port).status == 200)
        }
        let port = try #require(http.localAddress?.port)
        await #expect(throws: (any Error).self) { try await plainHTTPRequest("/health", port: port) }
    }
}
