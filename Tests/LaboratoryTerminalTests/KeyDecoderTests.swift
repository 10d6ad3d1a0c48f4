import Testing

@testable import laboratory_client

@Suite("key decoder")
struct KeyDecoderTests {
    private func keys(_ bytes: [UInt8]) -> [Key] {
        var decoder = KeyDecoder()
        return bytes.flatMap { decoder.feed($0) }
    }

    private func keys(_ text: String) -> [Key] { keys(Array(text.utf8)) }

    @Test(
        "escape sequences of xterm-like terminals",
        arguments: [
            ("\u{1B}[A", Key.up), ("\u{1B}[B", .down), ("\u{1B}[C", .right), ("\u{1B}[D", .left),
            ("\u{1B}OA", .up), ("\u{1B}OD", .left), ("\u{1B}[H", .home), ("\u{1B}[F", .end),
            ("\u{1B}OH", .home), ("\u{1B}OF", .end), ("\u{1B}[1~", .home), ("\u{1B}[4~", .end),
            ("\u{1B}[7~", .home), ("\u{1B}[8~", .end), ("\u{1B}[3~", .delete),
            ("\u{1B}[1;5C", .wordRight), ("\u{1B}[1;5D", .wordLeft), ("\u{1B}[1;3D", .wordLeft),
            ("\u{1B}b", .wordLeft), ("\u{1B}f", .wordRight), ("\u{1B}d", .deleteWordAfter),
            ("\u{1B}\u{7F}", .deleteWordBefore),
        ])
    func sequences(sequence: String, key: Key) {
        #expect(keys(sequence) == [key])
    }

    @Test(
        "control keys",
        arguments: [
            (0x01, Key.home), (0x02, .left), (0x03, .interrupt), (0x04, .endOfInput), (0x05, .end),
            (0x06, .right), (0x08, .backspace), (0x0B, .deleteToEnd), (0x0C, .clearScreen), (0x0D, .enter),
            (0x0A, .enter), (0x0E, .down), (0x10, .up), (0x14, .transpose), (0x15, .deleteToStart),
            (0x17, .deleteWordBefore), (0x19, .yank), (0x7F, .backspace), (0x09, .text(" ")),
        ] as [(UInt8, Key)])
    func controls(byte: UInt8, key: Key) {
        #expect(keys([byte]) == [key])
    }

    @Test("UTF-8 characters arrive whole, even byte by byte; a broken one is dropped, not inserted")
    func utf8() {
        #expect(keys("Zoë 👋") == [.text("Z"), .text("o"), .text("ë"), .text(" "), .text("👋")])
        // A lead byte followed by ASCII: the broken character goes, the ASCII stays.
        #expect(keys([0xC3, 0x41]) == [.text("A")])
        #expect(keys([0xFF, 0x41]) == [.text("A")])
    }

    @Test("unknown sequences are swallowed whole, so nothing stray is typed")
    func unknown() {
        #expect(keys("\u{1B}[15~x") == [.text("x")])
        #expect(keys("\u{1B}[200~ab") == [.text("a"), .text("b")])
        #expect(keys("\u{1B}[1;2;3;4;5;6;7;8;9;0;1;2Zq") == [.text("q")])
        #expect(keys("\u{1B}zq") == [.text("q")])
        #expect(keys([0x00, 0x1F, 0x41]) == [.text("A")])
    }
}
