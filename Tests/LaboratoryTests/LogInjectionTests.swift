import Foundation
@_spi(Testing) import Laboratory
import LaboratoryClient
import LaboratoryProtocol
import LaboratoryTestSupport
import Logging
import Testing

/// Client text cannot forge log lines or fields (SECURITY.md, "Logs"): attacks on the quoting of
/// display names, renames, room names and close reasons, read back from the real server's log.
@Suite("Log injection", .timeLimit(.minutes(2)))
struct LogInjectionTests {
    /// A display name the handshake accepts (no control or format characters) that forges a
    /// field and ends a quoted value in an unquoted `key=value` log.
    static let forgingName = #"m" admin=true FORGED x=""#
    /// A name that ends the line and starts a forged one, colours the terminal and reverses what
    /// follows: the handshake refuses it, and the refusal must not carry it into the log raw.
    static let lineBreakingName = "m\n2026-01-01T00:00:00+0000 critical FORGED admin=true \u{1B}[31m\u{202E}x"

    @Test("client text is quoted with newlines, quotes, backslashes, ANSI escapes and bidi overrides escaped")
    func quoting() {
        let hostile = "a\nb\"c\\d\u{1B}[31me\u{202E}f\u{2028}g\u{200B}h\ti k=v"
        let quoted = ClientText(hostile).description
        #expect(quoted == #""a\nb\"c\\d\u{1B}[31me\u{202E}f\u{2028}g\u{200B}h\ti k=v""#)
        #expect(!quoted.unicodeScalars.contains { ClientText.isUnsafe($0) })
        let line = try? #require(TextLogLine("info test: name=\(quoted) peer=1.2.3.4 [x] message"))
        #expect(line?.fields.map(\.key) == ["name", "peer"])
        // Long text is cut, and says by how much.
        let long = ClientText(String(repeating: "é", count: ClientText.maximumCharacters + 10))
        #expect(long.description.hasSuffix("\"+10"))
        #expect(long.text.count == ClientText.maximumCharacters)
    }

    @Test("JSON log lines parse, and hostile text stays inside its string value")
    func jsonLine() throws {
        let line = JSONLogHandler.line(
            level: .debug, label: "laboratory.server", message: "accepted",
            fields: [
                "name": .client(Self.lineBreakingName), "message": "shadowed", "connection": "3",
                "long": .client(String(repeating: "x", count: ClientText.maximumCharacters + 5)),
            ])
        #expect(line.hasSuffix("}\n") && line.dropLast().firstIndex(of: "\n") == nil)
        #expect(!line.unicodeScalars.contains { ClientText.isUnsafe($0) && $0 != "\n" })
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["name"] == Self.lineBreakingName)
        #expect(object["message"] == "accepted" && object["_message"] == "shadowed")
        #expect(object["level"] == "debug" && object["label"] == "laboratory.server" && object["connection"] == "3")
        #expect(object["timestamp"]?.hasSuffix("Z") == true)
        #expect(object["long"] == String(repeating: "x", count: ClientText.maximumCharacters) + "…(+5)")
        #expect(
            Set(object.keys) == ["timestamp", "level", "label", "message", "_message", "name", "connection", "long"])
    }

    @Test("a hostile display name, rename and refused name forge no line and no field in the server's log")
    func liveServer() async throws {
        let log = CapturedLog()
        try await LiveServer.with(logger: log.logger()) { live in
            let session = try await live.connect(name: Self.forgingName)
            _ = try await session.chat(.join(room: "lobby", after: nil))
            _ = try await session.chat(.leave(room: "lobby"))
            // Room names are a-z, 0-9, - and _: this one is refused, and the refusal logs nothing raw.
            await #expect(throws: (any Error).self) {
                _ = try await session.chat(.join(room: "x\nFORGED admin=true \u{1B}[31m\u{202E}", after: nil))
            }
            _ = try await session.chat(.join(room: "lobby", after: nil))
            _ = try await session.chat(.say(room: "lobby", text: "chat text\nFORGED admin=true \u{1B}[31m\u{202E}"))
            try await session.rename(to: #"\" peer=6.6.6.6 FORGED=1"#)
            await session.close()
            var raw = try await RawClient.connect(port: live.port)
            await #expect(throws: RawClientError.self) { _ = try await raw.handshake(name: Self.lineBreakingName) }
            await raw.close()
            // Requests naming a hostile service reach no service, and no log.
            let other = try await live.connect()
            await #expect(throws: ClientError.self) {
                _ = try await other.request(service: "echo\nFORGED admin=true", body: [1])
            }
            await other.close()
            await log.waitFor("connection closed", count: 3)
        }
        let events = log.all
        #expect(!events.isEmpty)
        for event in events {
            let line = event.textLine
            #expect(!line.unicodeScalars.contains { ClientText.isUnsafe($0) }, "\(line)")
            let parsed = try #require(TextLogLine(line), "\(line)")
            #expect(Set(parsed.fields.map(\.key)) == Set(event.metadata.keys), "\(line)")
            #expect(parsed.fields.count == event.metadata.count, "\(line)")
            #expect(parsed["admin"] == nil)
            let forgedInValues = parsed.fields.filter(\.quoted).map {
                $0.value.components(separatedBy: "FORGED").count - 1
            }
            #expect(forgedInValues.reduce(0, +) == line.components(separatedBy: "FORGED").count - 1, "\(line)")
        }
        let accepted = try #require(log.events("accepted").first)
        #expect(accepted.metadata["name"]?.description == ClientText(Self.forgingName).description)
        // The refused name is answered with nameRejected (the rule, not the name, is logged).
        let refused = log.events("name rejected")
        #expect(refused.count == 1 && refused.first?.metadata["reason"]?.description.contains("characters") == true)
    }
}
