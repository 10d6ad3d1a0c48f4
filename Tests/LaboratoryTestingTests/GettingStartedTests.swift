import Foundation
import Laboratory
import LaboratoryTesting
import Testing

// The code of the DocC article `Sources/Laboratory/Laboratory.docc/GettingStarted.md`, compiled and
// run here so that it cannot rot; the last test checks that the article shows exactly this code.

/// Greets the calling session by the name it gave at the handshake.
struct GreetingService: LaboratoryService {
    func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws -> [UInt8] {
        let greeting = String(decoding: body, as: UTF8.self)
        guard !greeting.isEmpty else {
            throw ServiceError("send a greeting, for example \"hello\"")
        }
        // Client text (the name) stays out of the message: see "Logs" in the README.
        context.logger.debug("greeting", metadata: ["connection": "\(context.session.connectionID)"])
        return Array("\(greeting), \(context.session.displayName)".utf8)
    }
}

@Suite("The getting-started article's code", .timeLimit(.minutes(1)))
struct GettingStartedTests {
    @Test("The greeting service greets the caller by name", arguments: ServiceTestMode.allCases)
    func greeting(mode: ServiceTestMode) async throws {
        var services = ServiceRegistry()
        services.register(GreetingService(), as: "greeting")

        try await withServiceTest(services, mode: mode) { client in
            let ada = try await client.session(name: "Ada")
            let reply = try await ada.request("greeting", Array("hello".utf8))
            #expect(String(decoding: reply, as: UTF8.self) == "hello, Ada")

            let error = try await #require(throws: ServiceTestError.self) {
                try await ada.request("greeting", [])
            }
            #expect(error.status == .serviceError)
            #expect(error.message.contains("send a greeting"))
        }
    }

    @Test("Every Swift block of the article stands verbatim in this file or in Examples/EchoHost")
    func articleMatchesCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let article = try String(
            contentsOf: root.appendingPathComponent("Sources/Laboratory/Laboratory.docc/GettingStarted.md"),
            encoding: .utf8)
        let sources = try [
            "Tests/LaboratoryTestingTests/GettingStartedTests.swift", "Examples/EchoHost/EchoHost.swift",
        ]
        .map { try String(contentsOf: root.appendingPathComponent($0), encoding: .utf8) }
        .map(Self.unindented)
        let blocks = Self.swiftBlocks(in: article)
        #expect(blocks.count >= 3)
        for block in blocks {
            #expect(sources.contains { $0.contains(Self.unindented(block)) }, "not in the compiled code:\n\(block)")
        }
    }

    /// The contents of the article's ```` ```swift ```` blocks.
    static func swiftBlocks(in markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed == "```swift" {
                current = []
            } else if let lines = current, trimmed == "```" {
                blocks.append(lines.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// Each line without its leading spaces, so that a block may be shown less indented than it
    /// stands in its function.
    static func unindented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.drop { $0 == " " } }
            .joined(separator: "\n")
    }
}
