import Foundation
import LaboratoryProtocol
import Testing

/// The strict JSON check's own UTF-8 validation (it no longer builds a `String` to find out):
/// every ill-formed sequence of Unicode Table 3-7, in names, in values and outside strings.
@Suite("Strict JSON: UTF-8")
struct StrictJSONUTF8Tests {
    /// Ill-formed sequences, each refused wherever it appears.
    static let illFormed: [(String, [UInt8])] = [
        ("lone continuation 80", [0x80]), ("lone continuation BF", [0xBF]),
        ("two continuations", [0x80, 0x80]),
        ("overlong 2-byte C0 80 (NUL)", [0xC0, 0x80]), ("overlong 2-byte C1 BF", [0xC1, 0xBF]),
        ("overlong 3-byte E0 80 80", [0xE0, 0x80, 0x80]), ("overlong 3-byte E0 9F BF", [0xE0, 0x9F, 0xBF]),
        ("overlong 4-byte F0 80 80 80", [0xF0, 0x80, 0x80, 0x80]),
        ("overlong 4-byte F0 8F BF BF", [0xF0, 0x8F, 0xBF, 0xBF]),
        ("surrogate U+D800", [0xED, 0xA0, 0x80]), ("surrogate U+DBFF", [0xED, 0xAF, 0xBF]),
        ("surrogate U+DC00", [0xED, 0xB0, 0x80]), ("surrogate U+DFFF", [0xED, 0xBF, 0xBF]),
        ("surrogate pair as CESU-8", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]),
        ("U+110000", [0xF4, 0x90, 0x80, 0x80]), ("F5 lead", [0xF5, 0x80, 0x80, 0x80]),
        ("F8 lead", [0xF8, 0x88, 0x80, 0x80, 0x80]), ("FE", [0xFE]), ("FF", [0xFF]),
        ("2-byte cut short", [0xC3]), ("3-byte cut short after 1", [0xE2]), ("3-byte cut short after 2", [0xE2, 0x82]),
        ("4-byte cut short after 3", [0xF0, 0x9F, 0x98]),
        ("bad second byte", [0xC3, 0x28]), ("bad third byte", [0xE2, 0x82, 0x28]),
        ("bad fourth byte", [0xF0, 0x9F, 0x98, 0x28]), ("lead then lead", [0xC3, 0xC3, 0xA9]),
    ]

    /// Well-formed sequences at the edges of Table 3-7's ranges.
    static let wellFormed: [[UInt8]] = [
        [0x7F], [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xEC, 0xBF, 0xBF], [0xED, 0x80, 0x80],
        [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80],
        [0xF3, 0xBF, 0xBF, 0xBF], [0xF4, 0x80, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
    ]

    static let template = Array(#"{"op":"say","room":"lobby","text":"hello, everyone","extra":[1,{"k":"v"}]}"#.utf8)

    @Test("an ill-formed sequence at any position of a body is refused as not UTF-8, at its offset")
    func everyPosition() throws {
        for (name, sequence) in Self.illFormed {
            for position in 0...Self.template.count {
                var body = Self.template
                body.insert(contentsOf: sequence, at: position)
                let error = try #require(throws: StrictJSONError.self, "\(name) at \(position)") {
                    try StrictJSON.validateObject(body)
                }
                #expect(error.reason == "not UTF-8", "\(name) at \(position): \(error)")
                // The template is ASCII: the first bad byte is the inserted sequence's first.
                #expect(error.offset == position, "\(name) at \(position)")
            }
        }
    }

    @Test(
        "a sequence cut short by the end of the body is refused",
        arguments: [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98]])
    func truncatedAtTheEnd(sequence: [UInt8]) throws {
        let body = Array(#"{"op":"rooms"}"#.utf8) + sequence
        let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(body) }
        #expect(error.reason == "not UTF-8" && error.offset == body.count - sequence.count)
        #expect(StrictJSON.firstInvalidUTF8(in: sequence) == 0)
        #expect(StrictJSON.firstInvalidUTF8(in: Array("aaaaaaaaaaaaaaaa".utf8) + sequence) == 16)
    }

    @Test("well-formed sequences at the edges of the ranges pass, in names and in values")
    func edges() throws {
        for sequence in Self.wellFormed {
            let text = String(decoding: sequence, as: UTF8.self)
            let body =
                Array(#"{"op":"say","room":"a","text":"x"#.utf8) + sequence + Array(#"y",""#.utf8) + sequence
                + Array(#"":1}"#.utf8)
            try StrictJSON.validateObject(body)
            #expect(StrictJSON.firstInvalidUTF8(in: sequence) == nil, "\(text.unicodeScalars.map(\.value))")
        }
    }

    /// Agreement with the standard library's validation, over every sequence of one and two
    /// bytes and every lead byte of three and four with their second byte and edge values after.
    @Test("agrees with String(validating:) on every 1- and 2-byte input and the 3- and 4-byte edges")
    func agreesWithTheStandardLibrary() {
        let edges: [UInt8] = [0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xFF]
        var inputs: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for first in 0...255 { for second in 0...255 { inputs.append([UInt8(first), UInt8(second)]) } }
        for lead in 0xE0...0xF7 {
            for second in 0...255 {
                for third in edges {
                    inputs.append([UInt8(lead), UInt8(second), third])
                    for fourth in edges { inputs.append([UInt8(lead), UInt8(second), third, fourth]) }
                }
            }
        }
        var disagreements: [[UInt8]] = []
        for input in inputs {
            // Behind ASCII too, so that the eight-bytes-at-a-time path hands over at every phase
            // (the one- and two-byte inputs; the longer ones behind three bytes only).
            for prefix in input.count <= 2 ? [0, 5, 8, 13] : [3] {
                let bytes = [UInt8](repeating: 0x61, count: prefix) + input
                let valid = StrictJSON.firstInvalidUTF8(in: bytes) == nil
                if valid != (String(validating: bytes, as: UTF8.self) != nil) { disagreements.append(bytes) }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    @Test("long ASCII and mixed text: the first bad byte is found wherever it lies")
    func longText() {
        let ascii = [UInt8](repeating: 0x61, count: 4_096)
        #expect(StrictJSON.firstInvalidUTF8(in: ascii) == nil)
        let mixed = Array(String(repeating: "aé😀€", count: 500).utf8)
        #expect(StrictJSON.firstInvalidUTF8(in: mixed) == nil)
        for position in [0, 1, 7, 8, 9, 63, 64, 4_095] {
            var bytes = ascii
            bytes[position] = 0x80
            #expect(StrictJSON.firstInvalidUTF8(in: bytes) == position)
        }
        var bytes = mixed
        bytes.append(0xED)
        bytes += [0xA0, 0x80]
        #expect(StrictJSON.firstInvalidUTF8(in: bytes) == mixed.count)
    }
}
