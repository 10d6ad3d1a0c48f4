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

    @Test("At most 1,024 bytes of UTF-8, however few characters: one character can hold any number of marks")
    func byteLimit() throws {
        // One character: a base letter and 511 combining acute accents (Mn, allowed).
        let longest = "a" + String(repeating: "\u{301}", count: 511)
        #expect(longest.count == 1 && longest.utf8.count == DisplayName.maximumByteCount - 1)
        #expect(try DisplayName.validate(longest + "b") == longest + "b")
        let over = longest + "\u{301}"
        #expect(over.count == 1 && over.utf8.count == DisplayName.maximumByteCount + 1)
        let error = try #require(throws: ProtocolError.self) { try DisplayName.validate(over) }
        #expect(error.closeReason.code == .invalidName)
        #expect(error.closeReason.message.contains("1025 bytes"))
        // Every valid name fits the handshake's frame limit as a sealed `name` message.
        let sealed = 1 + 2 + DisplayName.maximumByteCount + 16
        #expect(sealed <= Frame.maximumHandshakePayloadByteCount)
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

    /// The Unicode version PROTOCOL.md §11 names: the newest version of any character this
    /// toolchain's standard library knows. A toolchain with newer tables fails here until the
    /// document is updated.
    static let unicodeVersion = (major: 17, minor: 0)

    @Test("the server's Unicode version is 17.0: the newest character the standard library knows is from 17.0")
    func unicodeVersion() throws {
        var newest = (major: 0, minor: 0)
        for value in UInt32(0)...0x10FFFF {
            guard let age = Unicode.Scalar(value)?.properties.age else { continue }
            if (age.major, age.minor) > (newest.major, newest.minor) { newest = (age.major, age.minor) }
        }
        #expect(newest == Self.unicodeVersion)
    }

    @Test("a character new in Unicode 17.0 is allowed; one unassigned in 17.0 is not (Cn)")
    func assignedPerVersion() throws {
        let new = "a\u{1FAEA}"  // assigned in Unicode 17.0
        #expect(Unicode.Scalar(0x1FAEA)?.properties.age.map { ($0.major, $0.minor) } ?? (0, 0) == (17, 0))
        #expect(try DisplayName.validate(new) == new)
        let unassigned = try #require(throws: ProtocolError.self) { try DisplayName.validate("a\u{1FAEB}") }
        #expect(unassigned.closeReason.message.contains("U+1FAEB"))
    }

    @Test("extended grapheme clusters: 32 multi-scalar characters pass, 33 do not; a ZWJ sequence is refused (Cf)")
    func graphemeBoundary() throws {
        let keycap = "1\u{FE0F}\u{20E3}"  // digit, variation selector (Mn), enclosing keycap (Me)
        #expect(keycap.count == 1 && keycap.unicodeScalars.count == 3 && keycap.utf8.count == 7)
        let atLimit = String(repeating: keycap, count: 32)
        #expect(try DisplayName.validate(atLimit) == atLimit)
        let flags = String(repeating: "\u{1F1EB}\u{1F1F7}", count: 32)  // 32 flags, 64 regional indicators
        #expect(try DisplayName.validate(flags) == flags)
        let thumbs = String(repeating: "\u{1F44D}\u{1F3FD}", count: 32)  // emoji with a skin-tone modifier (Sk)
        #expect(try DisplayName.validate(thumbs) == thumbs)
        let over = try #require(throws: ProtocolError.self) { try DisplayName.validate(atLimit + keycap) }
        #expect(over.closeReason.message.contains("33 characters"))
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"  // one character, but U+200D is Cf
        #expect(family.count == 1)
        let zwj = try #require(throws: ProtocolError.self) { try DisplayName.validate(family) }
        #expect(zwj.closeReason.message.contains("U+200D"))
    }
}
