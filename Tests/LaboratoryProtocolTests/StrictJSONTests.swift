import Foundation
import LaboratoryProtocol
import Testing

/// The strict JSON rules for chat requests (PROTOCOL.md §17): what a general-purpose decoder lets
/// through and the protocol forbids.
@Suite("Strict JSON")
struct StrictJSONTests {
    @Test(
        "conforming bodies pass",
        arguments: [
            #"{"op":"rooms"}"#, #" {"op":"join","room":"lobby","after":0} "#, "\n\t{\"op\":\"who\",\"room\":\"a\"}\r\n",
            #"{"op":"direct","to":18446744073709551615,"text":"\u00e9\ud83d\ude00 \"q\" \\ \/"}"#,
            #"{"op":"say","room":"a","text":"x","extra":[1,-2,true,false,null,{"nested":{}},[]]}"#,
            #"{"a":{"a":1},"b":{"a":2}}"#,
        ])
    func conforming(body: String) throws {
        try StrictJSON.validateObject(Array(body.utf8))
    }

    @Test(
        "each broken rule is refused",
        arguments: [
            ("\u{FEFF}{\"op\":\"rooms\"}", "byte-order mark"),
            (#"{"op":"join","room":"a","after":0.0}"#, "integers"),
            (#"{"op":"join","room":"a","after":1e0}"#, "integers"),
            (#"{"op":"join","room":"a","after":1E+2}"#, "integers"),
            (#"{"op":"join","room":"a","after":-0}"#, "-0"),
            (#"{"op":"join","room":"a","after":01}"#, "leading zero"),
            (#"{"op":"say","room":"a","room":"b","text":"x"}"#, "duplicate key \"room\""),
            (#"{"op":"say","room":"a","r\u006fom":"b","text":"x"}"#, "duplicate key \"room\""),
            (#"{"op":"rooms","x":{"k":1,"k":2}}"#, "duplicate key \"k\""),
            (#"{"op":"rooms"}{"op":"rooms"}"#, "after the JSON object"),
            (#"{"op":"rooms"} x"#, "after the JSON object"),
            (#"["op","rooms"]"#, "one JSON object"),
            (#""rooms""#, "one JSON object"),
            ("", "one JSON object"),
            (#"{"op":"say","room":"a","text":"\ud800"}"#, "lone surrogate"),
            (#"{"op":"say","room":"a","text":"\udc00\ud800"}"#, "lone surrogate"),
            (#"{"op":"rooms",}"#, "member name"),
            (#"{'op':'rooms'}"#, "member name"),
            (#"{"op":"rooms"} // comment"#, "after the JSON object"),
            (#"{"op":"rooms","n":NaN}"#, "not a JSON value"),
            ("{\"op\":\"say\",\"room\":\"a\",\"text\":\"tab\there\"}", "control character"),
            (#"{"op":"say","room":"a","text":"\x"}"#, "invalid escape"),
            (#"{"op":"rooms""#, "expected"),
            (String(repeating: "{\"a\":", count: 33) + "1" + String(repeating: "}", count: 33), "nested deeper"),
        ] as [(String, String)])
    func refused(body: String, reason: String) throws {
        let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(Array(body.utf8)) }
        #expect(error.reason.contains(reason), "\(error)")
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() throws {
        let body = Array(#"{"op":"say","room":"a","text":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(body) }
        #expect(error.reason == "not UTF-8")
    }

    @Test("nesting up to the maximum depth passes")
    func depthBoundary() throws {
        let depth = StrictJSON.maximumDepth
        let body = String(repeating: "{\"a\":", count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
        try StrictJSON.validateObject(Array(body.utf8))
    }

    @Test("nesting counts arrays and objects alike; far too deep is refused at the limit, without recursing further")
    func deepNesting() throws {
        let depth = StrictJSON.maximumDepth
        // 32 levels: the object, then 31 arrays and objects in turn.
        let opening = (1..<depth).map { $0 % 2 == 1 ? "[" : "{\"a\":" }
        let closing = opening.reversed().map { $0 == "[" ? "]" : "}" }
        try StrictJSON.validateObject(Array(("{\"a\":" + opening.joined() + "1" + closing.joined() + "}").utf8))
        for body in [
            "{\"a\":" + opening.joined() + "[1]" + closing.joined() + "}",
            "{\"a\":" + String(repeating: "[", count: 1_000_000),
            "{\"a\":" + String(repeating: "{\"a\":", count: 100_000),
            "{\"a\":" + String(repeating: "[", count: depth - 1) + "{}" + String(repeating: "]", count: depth - 1)
                + "}",
        ] {
            let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(Array(body.utf8)) }
            #expect(error.reason == "nested deeper than 32", "\(error)")
        }
    }

    @Test("a chat request is checked before it is decoded, with the reason in the error")
    func chatRequestDecoding() throws {
        #expect(
            try ChatRequest(strictJSON: Array(#"{"op":"join","room":"a","after":7}"#.utf8))
                == .join(room: "a", after: 7))
        #expect(throws: StrictJSONError.self) {
            try ChatRequest(strictJSON: Array(#"{"op":"join","room":"a","after":7.0}"#.utf8))
        }
        #expect(throws: StrictJSONError.self) {
            try ChatRequest(strictJSON: Array(#"{"op":"say","room":"a","text":"1","text":"2"}"#.utf8))
        }
    }

    /// Strict JSON allows integers up to a double's range; `after` and `to` must then fit a u64. A body
    /// that breaks only that is valid JSON, and the error must say what is wrong with it.
    @Test(
        "after and to out of a u64's range: named in the error, not called invalid JSON",
        arguments: [
            #"{"op":"direct","to":18446744073709551616,"text":"x"}"#, #"{"op":"direct","to":-1,"text":"x"}"#,
            #"{"op":"join","room":"a","after":99999999999999999999999}"#, #"{"op":"direct","to":"1","text":"x"}"#,
            #"{"op":"join","room":"a","after":null}"#,
        ])
    func integerRange(body: String) throws {
        try StrictJSON.validateObject(Array(body.utf8))
        let error = try #require(throws: DecodingError.self) { try ChatRequest(strictJSON: Array(body.utf8)) }
        #expect("\(error)".contains("must be an integer from 0 to 18446744073709551615"))
        #expect(!"\(error)".contains("not valid JSON"))
        #expect(
            try ChatRequest(strictJSON: Array(#"{"op":"direct","to":18446744073709551615,"text":"x"}"#.utf8))
                == .direct(to: .max, text: "x"))
    }

    /// An integer that rounds to infinity as a double (the first is 2^1024 − 2^970, 309 digits) is
    /// refused, as Foundation's parsers refuse it, so that no parser reads it differently; one just
    /// below is accepted. Found by the `MessageDecoders` fuzzer: a 310-digit member value passed the
    /// check and `JSONSerialization` refused the body.
    @Test("integers beyond a double's range are refused, in agreement with JSONSerialization")
    func doubleRange() throws {
        let threshold =
            "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797758720"
            + "70963302864166928879109465555478519404026306574886715058206819089020007083836762738548458177115317"
            + "64475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880"
            + "177904174497792"
        #expect(threshold.count == 309)
        let belowThreshold = String(threshold.dropLast()) + "1"
        let cases: [(digits: String, accepted: Bool)] = [
            (String(repeating: "9", count: 308), true), (belowThreshold, true), ("-" + belowThreshold, true),
            (threshold, false), ("-" + threshold, false), (String(repeating: "9", count: 309), false),
            (String(repeating: "5", count: 310), false), ("-" + String(repeating: "1", count: 10_000), false),
        ]
        for (digits, accepted) in cases {
            for body in [#"{"a":\#(digits)}"#, #"{"op":"rooms","x":[1,{"y":\#(digits)}]}"#] {
                let bytes = Array(body.utf8)
                let serialization = (try? JSONSerialization.jsonObject(with: Data(bytes))) is [String: Any]
                #expect(serialization == accepted, "JSONSerialization on \(digits.count) digits")
                if accepted {
                    #expect(throws: Never.self) { try StrictJSON.validateObject(bytes) }
                } else {
                    let error = try #require(throws: StrictJSONError.self) { try StrictJSON.validateObject(bytes) }
                    #expect(error.reason == "integer beyond a double's range")
                    #expect(error.offset == body.utf8.count - digits.utf8.count - (body.hasSuffix("}]}") ? 3 : 1))
                }
            }
        }
    }

    @Test("the Swift client's encoder only produces conforming JSON, for every request")
    func swiftEncoderConforms() throws {
        let requests: [ChatRequest] = [
            .join(room: "lobby", after: nil), .join(room: "lobby", after: .max), .leave(room: "lobby"), .rooms(),
            .rooms(after: "a", limit: 5),
            .who(room: "a"), .say(room: "a", text: "é \u{1F600} \"\\/\n\u{7}"), .direct(to: 0, text: "x"),
            .direct(to: .max, text: "\u{FEFF}bom inside"),
        ]
        for request in requests {
            let body = Array(try JSONEncoder().encode(request))
            try StrictJSON.validateObject(body)
            #expect(try ChatRequest(strictJSON: body) == request)
        }
    }
}
