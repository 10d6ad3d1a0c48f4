import Foundation
import LaboratoryClient
import LaboratoryLegacy
import LaboratoryTestSupport
import Testing

/// The real `laboratory-server`'s log on its standard error, in both formats, under clients whose
/// names and lines try to forge log lines and fields (SECURITY.md, "Logs").
@Suite("laboratory-server's log", .timeLimit(.minutes(2)))
struct ServerLogTests {
    static let password = "a log test password"
    /// Accepted by the handshake (no control or format characters), and forges a field in an
    /// unquoted `key=value` log.
    static let forgingName = #"m" admin=true FORGED x=""#
    /// Ends the line and starts a forged one, colours the terminal and reverses what follows:
    /// refused by the handshake, and must not reach the log raw.
    static let lineBreakingName = "m\n2026-01-01T00:00:00+0000 critical FORGED admin=true \u{1B}[31m\u{202E}x"

    /// Runs the server in `format` at debug with a legacy port, lets the hostile clients in (and
    /// the line-breaking ones be refused), stops it and returns its standard error.
    func hostileSession(format: String) async throws -> String {
        let server = try ServerProcess(
            arguments: ["--log-level", "debug", "--log-format", format, "--legacy-port", "0"],
            environment: ["LABORATORY_PASSWORD": Self.password])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let legacyLine = try #require(await server.value(after: "Legacy listening on 127.0.0.1:"))
        let legacyPort = try #require(Int(legacyLine))
        let line = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let port = try #require(Int(line))

        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: Self.forgingName,
            trust: .pinned(fingerprint: fingerprint))
        _ = try await session.chat(.join(room: "lobby", after: nil))
        await #expect(throws: (any Error).self) {
            _ = try await session.chat(.join(room: "x\nFORGED admin=true \u{1B}[31m\u{202E}", after: nil))
        }
        _ = try await session.chat(.say(room: "lobby", text: "chat text\nFORGED admin=true \u{1B}[31m\u{202E}"))
        try await session.rename(to: #"\" peer=6.6.6.6 FORGED=1"#)
        await session.close()

        var raw = try await RawClient.connect(port: port)
        await #expect(throws: RawClientError.self) {
            _ = try await raw.handshake(password: Self.password, name: Self.lineBreakingName)
        }
        await raw.close()

        let legacy = try await LegacyClientSession.connect(
            host: "127.0.0.1", port: legacyPort, password: Self.password, name: Self.forgingName)
        try await legacy.send("/join lobby")
        try await legacy.send("chat text FORGED admin=true \u{1B}[31m\u{202E}")
        try await legacy.send("/join x FORGED admin=true\u{1B}[31m\u{202E}")
        try await legacy.send("STOP SERVER")
        await legacy.close()
        await #expect(throws: (any Error).self) {
            _ = try await LegacyClientSession.connect(
                host: "127.0.0.1", port: legacyPort, password: Self.password, name: "m\u{1B}[31m\u{202E}x FORGED")
        }

        server.interrupt()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        #expect(!exit.stderr.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        return exit.stderr
    }

    @Test("text: every line is one event, and hostile names stay inside their quoted values")
    func textFormat() async throws {
        let stderr = try await hostileSession(format: "text")
        let lines = stderr.split(separator: "\n").map(String.init)
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        for line in lines {
            let words = line.split(separator: " ", maxSplits: 3)
            #expect(words.count >= 3 && levels.contains(String(words[1])) && words[2].hasSuffix(":"), "\(line)")
            #expect(!line.hasPrefix("2026-01-01T00:00:00+0000"), "a forged line: \(line)")
            let parsed = try #require(TextLogLine(line), "\(line)")
            #expect(parsed["admin"] == nil && parsed["FORGED"] == nil, "a forged field: \(line)")
            let inQuotes = parsed.fields.filter(\.quoted).map { $0.value.components(separatedBy: "FORGED").count - 1 }
            #expect(inQuotes.reduce(0, +) == line.components(separatedBy: "FORGED").count - 1, "\(line)")
        }
        let quotedName = #""m\" admin=true FORGED x=\"""#
        #expect(lines.contains { $0.hasSuffix(" accepted") && $0.contains("name=\(quotedName)") })
        #expect(lines.contains { $0.hasSuffix(" legacy client accepted") && $0.contains("name=\(quotedName)") })
        #expect(lines.contains { $0.hasSuffix(" joined room") && $0.contains(#"room="lobby""#) })
        #expect(lines.contains { $0.hasSuffix(" connection closed") && $0.contains("duration=") })
    }

    @Test("json: every line is one JSON object, and hostile names stay inside their string values")
    func jsonFormat() async throws {
        let stderr = try await hostileSession(format: "json")
        let lines = stderr.split(separator: "\n")
        #expect(lines.count > 5)
        var objects: [[String: Any]] = []
        for line in lines {
            let object = try #require(
                try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            for key in ["timestamp", "level", "label", "message"] { #expect(object[key] is String, "\(line)") }
            #expect(object["admin"] == nil && object["FORGED"] == nil, "a forged field: \(line)")
            objects.append(object)
        }
        func named(_ message: String) -> [[String: Any]] { objects.filter { $0["message"] as? String == message } }
        #expect(named("accepted").contains { $0["name"] as? String == Self.forgingName })
        #expect(named("legacy client accepted").contains { $0["name"] as? String == Self.forgingName })
        #expect(named("renamed").contains { $0["to"] as? String == #"\" peer=6.6.6.6 FORGED=1"# })
        #expect(named("joined room").contains { $0["room"] as? String == "lobby" })
        #expect(named("connection closed").contains { ($0["duration"] as? String)?.hasSuffix("s") == true })
        #expect(named("listening").first?["level"] as? String == "info")
    }
}
