import Foundation
import LaboratoryHTTP
import LaboratoryTestSupport
import Testing

@Suite("HTTP: the browser client's files", .timeLimit(.minutes(1)))
struct WebClientRoutesTests {
    /// The repository's Clients/web, found from this file's path.
    static let webRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Clients/web").path

    @Test("/ is the page, its modules are text/javascript, its test pages are not served")
    func servesThePage() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0, webRoot: Self.webRoot))
        try await LiveServer.with(listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            let page = try await plainHTTPRequest("/", port: port)
            #expect(page.status == 200)
            #expect(page.header("content-type")?.hasPrefix("text/html") == true)
            let onDisk = try String(contentsOfFile: Self.webRoot + "/index.html", encoding: .utf8)
            #expect(page.body == onDisk)
            let module = try await plainHTTPRequest("/lib/handshake.js", port: port)
            #expect(module.status == 200)
            #expect(module.header("content-type")?.hasPrefix("text/javascript") == true)
            #expect(try await plainHTTPRequest("/tests/vectors.html", port: port).status == 404)
            #expect(try await plainHTTPRequest("/../Package.swift", port: port).status != 200)
            // The probes still answer beside the files.
            #expect(try await plainHTTPRequest("/health", port: port).status == 200)
        }
    }

    @Test("without a web root no page is served")
    func noPageByDefault() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0))
        try await LiveServer.with(listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            #expect(try await plainHTTPRequest("/", port: port).status == 404)
        }
    }
}
