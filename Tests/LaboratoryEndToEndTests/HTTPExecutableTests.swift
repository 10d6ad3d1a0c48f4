import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryTestSupport
import NIOCore
import NIOPosix
import Testing

/// `laboratory-server --http-port 0`, run as a real process and asked with curl.
@Suite("The server executable's HTTP listener", .timeLimit(.minutes(2)))
struct HTTPExecutableTests {
    static let password = "http listener password"

    @Test("--http-port 0 prints the HTTP address; curl gets /health, /ready and /metrics, which counts a session")
    func healthAndMetricsOverCurl() async throws {
        let server = try ServerProcess(
            arguments: ["--http-port", "0"], environment: ["LABORATORY_PASSWORD": Self.password])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let httpLine = try #require(await server.value(after: "HTTP listening on 127.0.0.1:"))
        let httpPort = try #require(Int(httpLine))
        let line = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let port = try #require(Int(line))

        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: "ada",
            trust: .pinned(fingerprint: fingerprint))
        #expect(try await session.request(service: "echo", body: [1, 2, 3]) == [1, 2, 3])
        await session.close()

        let health = try runTool(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(httpPort)/health"])
        #expect(health.status == 0, "\(health.standardError)")
        #expect(health.text == "ok\n")
        let ready = try runTool(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(httpPort)/ready"])
        #expect(ready.text == "ready\n")
        let scrape = try runTool(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(httpPort)/metrics"])
        #expect(scrape.status == 0, "\(scrape.standardError)")
        // The executable bootstrapped the global metrics system with the registry /metrics serves.
        let metrics = try PrometheusText(parsing: scrape.text)
        #expect(metrics.value("laboratory_connections_opened_total") == 1)
        #expect(metrics.value("laboratory_handshakes_total", ["outcome": "accepted"]) == 1)
        #expect(metrics.value("laboratory_requests_total", ["service": "echo", "status": "ok"]) == 1)

        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test("--http-port out of range is a usage error; an HTTP port in use is EX_UNAVAILABLE naming the option")
    func badPorts() async throws {
        let outOfRange = try ServerProcess(
            arguments: ["--http-port", "70000"], environment: ["LABORATORY_PASSWORD": Self.password])
        let usage = await outOfRange.waitForExit()
        #expect(usage.status == 64)
        #expect(usage.stderr.hasPrefix("Error: --http-port must be from 0 to 65535"), "\(usage.stderr)")

        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        let inUse = try ServerProcess(
            arguments: ["--http-port", "\(port)"], environment: ["LABORATORY_PASSWORD": Self.password])
        let exit = await inUse.waitForExit()
        #expect(exit.status == 69)
        #expect(exit.stderr.contains("127.0.0.1:\(port)") && exit.stderr.contains("--http-port"), "\(exit.stderr)")
        try await holder.close()
    }

    @Test("without --http-port nothing serves HTTP and no HTTP address is printed")
    func offUnlessGiven() async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": Self.password])
        _ = try #require(await server.value(after: "Host key fingerprint: "))
        // The listening line is the last one printed at start; the HTTP line would come before it.
        let next = try #require(await server.value(after: ""))
        #expect(next.hasPrefix("Listening on "), "\(next)")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }
}
