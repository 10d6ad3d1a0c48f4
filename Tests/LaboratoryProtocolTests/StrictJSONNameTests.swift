import Foundation
import LaboratoryProtocol
import Testing

/// The duplicate-name rule, attacked where the check compares names in place (up to eight per
/// object) and where it falls back to a set: names compare by their unescaped value, bytes for
/// bytes, never by Unicode equivalence.
@Suite("Strict JSON: member names")
struct StrictJSONNameTests {
    @Test(
        "an escaped and an unescaped spelling of one name are duplicates, in either order",
        arguments: [
            (#""a""#, #""\u0061""#), (#""room""#, #""r\u006Fom""#), (#""/""#, #""\/""#), (#""é""#, #""\u00e9""#),
            (#""é""#, #""\u00E9""#), (#""€""#, #""\u20ac""#), (#""😀""#, #""\ud83d\ude00""#),
            (#""\n""#, #""\u000a""#), (#""\"""#, #""\u0022""#), (#""\\""#, #""\u005c""#),
            (#""\b\f\r\t""#, #""\u0008\u000c\u000d\u0009""#), (#""""#, #""""#),
            (#""a😀b""#, #""\u0061\uD83D\uDE00\u0062""#), (#""\u0000""#, #""\u0000""#),
        ] as [(String, String)])
    func escapedDuplicates(first: String, second: String) throws {
        for (one, other) in [(first, second), (second, first)] {
            let body =
                Array(#"{"op":"rooms","#.utf8) + Array(one.utf8) + Array(#":1,"x":2,"#.utf8) + Array(other.utf8)
                + Array(":3}".utf8)
            let error = try #require(throws: StrictJSONError.self, "\(one) \(other)") {
                try StrictJSON.validateObject(body)
            }
            #expect(error.reason.hasPrefix("duplicate key"), "\(error)")
            // The offset is the second spelling's opening quote.
            #expect(error.offset == body.count - other.utf8.count - 3, "\(error)")
        }
    }

    @Test(
        "different names stay different, also when one is a prefix or an escape of a neighbour",
        arguments: [
            (#""a""#, #""ab""#), (#""a""#, #""\u0062""#), (#""\u00e9""#, #""\u00e8""#), (#""é""#, #""e""#),
            (#""é""#, #""e\u0301""#),  // canonically equivalent, different bytes: different names
            (#""\u00e9""#, #""e\u0301""#), (#""\ud83d\ude00""#, #""\ud83d\ude01""#),
            (#""a""#, #""a ""#), (#""\n""#, #""n""#), (#""\/""#, #""\\""#), (#""""#, #"" ""#), (#""A""#, #""a""#),
            (#""\u0000""#, #""""#),
        ] as [(String, String)])
    func differentNames(first: String, second: String) throws {
        for (one, other) in [(first, second), (second, first)] {
            let body =
                Array(#"{"op":"rooms","#.utf8) + Array(one.utf8) + Array(#":1,"#.utf8) + Array(other.utf8)
                + Array(":2}".utf8)
            try StrictJSON.validateObject(body)
        }
    }

    /// Objects of 1 to 40 names (the in-place comparison ends at 8), with a duplicate of every
    /// earlier name at every later position, spelled plainly or escaped.
    @Test("duplicates are found at every position, below and beyond the in-place limit")
    func everyPosition() throws {
        func spelling(_ index: Int, escaped: Bool) -> String {
            let name = "n\(index)"
            guard escaped else { return "\"\(name)\"" }
            return "\"" + name.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined() + "\""
        }
        for count in 1...40 {
            let names = (0..<count).map { spelling($0, escaped: $0 % 3 == 1) }
            let distinct = "{" + names.map { "\($0):[\($0),{}]" }.joined(separator: ",") + "}"
            try StrictJSON.validateObject(Array(distinct.utf8))
            for original in 0..<count {
                for escaped in [false, true] {
                    for position in Set([original + 1, (original + 1 + count) / 2, count]) {
                        var members = names.map { "\($0):0" }
                        members.insert("\(spelling(original, escaped: escaped)):1", at: position)
                        let body = "{" + members.joined(separator: ",") + "}"
                        let error = try #require(throws: StrictJSONError.self, "\(body)") {
                            try StrictJSON.validateObject(Array(body.utf8))
                        }
                        #expect(error.reason == "duplicate key \"n\(original)\"", "\(body): \(error)")
                    }
                }
            }
        }
    }

    @Test("a large object: 5,000 distinct names pass; one more, repeating any of them, is refused")
    func largeObject() throws {
        let names = (0..<5_000).map { "\"k\($0)\":\($0)" }
        try StrictJSON.validateObject(Array(("{" + names.joined(separator: ",") + "}").utf8))
        for repeated in [0, 7, 8, 4_999] {
            let body = "{" + names.joined(separator: ",") + #","k\#(repeated)":0}"#
            let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(Array(body.utf8)) }
            #expect(error.reason == "duplicate key \"k\(repeated)\"")
        }
    }

    @Test("names are per object: the same name in sibling and nested objects is allowed")
    func perObject() throws {
        let inner = (0..<12).map { "\"n\($0)\":{\"n\($0)\":[{\"n\($0)\":1}]}" }.joined(separator: ",")
        try StrictJSON.validateObject(Array("{\(inner),\"x\":{\(inner)}}".utf8))
        let error = try #require(throws: StrictJSONError.self) {
            try StrictJSON.validateObject(Array(#"{"a":{"b":1,"c":2},"d":[{"e":1,"\u0065":2}]}"#.utf8))
        }
        #expect(error.reason == "duplicate key \"e\"")
    }

    @Test(
        "a name with a broken escape or a lone surrogate escape is refused, never compared",
        arguments: [
            (#"{"\ud800":1}"#, "lone surrogate"), (#"{"\udc00":1}"#, "lone surrogate"),
            (#"{"\ud800\u0041":1}"#, "lone surrogate"), (#"{"\ud800\n":1}"#, "lone surrogate"),
            (#"{"\ud83d\ud83d":1}"#, "lone surrogate"), (#"{"a":1,"\ud800":1}"#, "lone surrogate"),
            (#"{"\u00g0":1}"#, "bad \\u escape"), (#"{"\u00":1}"#, "bad \\u escape"), (#"{"\x":1}"#, "invalid escape"),
            (#"{"\"#, "unterminated string"), (#"{"\u00e9"#, "unterminated string"), (#"{"a"#, "unterminated string"),
            (#"{"\ud83d\ude0"#, "short \\u escape"), ("{\"a\u{1}\":1}", "control character"),
        ] as [(String, String)])
    func brokenNames(body: String, reason: String) throws {
        let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(Array(body.utf8)) }
        #expect(error.reason.contains(reason), "\(error)")
    }
}
