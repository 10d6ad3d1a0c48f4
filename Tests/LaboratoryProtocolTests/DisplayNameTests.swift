import LaboratoryProtocol
import Testing

@Suite("DisplayName")
struct DisplayNameTests {
    @Test(
        "Valid names are returned unchanged",
        arguments: [
            "Ada", "Zoë 42", "Zoe\u{308} 42", String(repeating: "a", count: 32), String(repeating: "é", count: 32),
            String(repeating: "e\u{301}", count: 32), "李小龍", "a b", "🦊", "O'Brien-Smith",
        ])
    func accepts(_ name: String) throws {
        #expect(try DisplayName.validate(name) == name)
    }

    @Test(
        "Invalid names are refused with invalidName",
        arguments: [
            "", String(repeating: "a", count: 33), String(repeating: "é", count: 33), " Ada", "Ada ", " ", "\tAda",
            "Ada\n", "\u{A0}Ada", "\u{1B}[31m", "a\u{202E}b", "a\nb", "a\rb", "a\u{0}b", "a\u{7F}b", "a\u{200B}b",
            "a\u{2028}b", "a\u{2029}b", "a\u{FEFF}b", "a\u{E000}b", "a\u{0378}b",
        ])
    func rejects(_ name: String) throws {
        let error = try #require(throws: ProtocolError.self) { try DisplayName.validate(name) }
        #expect(error.closeReason.code == .invalidName)
        #expect(error.closeReason.message.hasPrefix("display name "))
    }

    @Test("Length is counted in characters, not bytes or scalars")
    func lengthInCharacters() throws {
        let decomposed = String(repeating: "e\u{301}", count: 32)
        #expect(decomposed.unicodeScalars.count == 64)
        #expect(decomposed.utf8.count > 32)
        #expect(try DisplayName.validate(decomposed) == decomposed)
        #expect(DisplayName.maximumLength == 32)
    }

    @Test("The reason names the broken rule")
    func reasons() throws {
        let tooLong = try #require(throws: ProtocolError.self) {
            try DisplayName.validate(String(repeating: "x", count: 40))
        }
        #expect(tooLong.closeReason.message.contains("40"))
        let control = try #require(throws: ProtocolError.self) { try DisplayName.validate("a\u{202E}b") }
        #expect(control.closeReason.message.contains("U+202E"))
    }
}
