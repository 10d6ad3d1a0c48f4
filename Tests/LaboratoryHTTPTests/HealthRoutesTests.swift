import Laboratory
import LaboratoryHTTP
import LaboratoryTestSupport
import Testing

@Suite("HTTP health and readiness", .timeLimit(.minutes(1)))
struct HealthRoutesTests {
    @Test("/health and /ready answer 200 while the server serves; unknown paths 404")
    func serving() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0))
        try await LiveServer.with(listeners: [http]) { live in
            let port = try #require(http.localAddress?.port)
            let health = try await plainHTTPRequest("/health", port: port)
            #expect(health.status == 200)
            #expect(health.body == "ok\n")
            let ready = try await plainHTTPRequest("/ready", port: port)
            #expect(ready.status == 200)
            #expect(ready.body == "ready\n")
            #expect(try await plainHTTPRequest("/nothing-here", port: port).status == 404)
            // The TCP listener serves beside it.
            let session = try await live.connect()
            await session.close()
        }
    }

    @Test("binds to the loopback address unless told otherwise")
    func loopbackByDefault() {
        #expect(HTTPConfiguration(port: 8080).host == "127.0.0.1")
    }

    @Test("a port in use is a failure to start, not a server without HTTP")
    func portInUse() async throws {
        let first = HTTPListener(configuration: HTTPConfiguration(port: 0))
        try await LiveServer.with(listeners: [first]) { _ in
            let port = try #require(first.localAddress?.port)
            let second = HTTPListener(configuration: HTTPConfiguration(port: port))
            await #expect(throws: (any Error).self) {
                try await LiveServer.with(listeners: [second]) { _ in }
            }
        }
    }
}
