import Foundation
import LaboratoryProtocol
import Testing

/// `ChatRequest.plainRequest(_:)` reads common requests without `JSONDecoder`: it must return
/// exactly what `JSONDecoder` returns, and leave everything else (errors included) to it.
@Suite("Chat requests read directly")
struct ChatRequestPlainTests {
    /// The values each field takes in the generated bodies; the first two of each are plain.
    static let ops = [
        #""say""#, #""join""#, #""leave""#, #""direct""#, #""rooms""#, #""who""#, #""s\u0061y""#, "5", "null", #""""#,
        #""SAY""#,
    ]
    static let strings = [
        #""a""#, #""lobby""#, #""""#, #""é 😀""#,
        #""r\u00e9""#, #""\"q\"""#, "5", "null", "true", "[]", "{}", #""\ud83d\ude00""#,
        "\"\u{FEFF}bom\"", #""a\/b""#,
    ]
    static let integers = [
        "0", "5", "18446744073709551615", "18446744073709551616", "99999999999999999999999", "-1", "null",
        #""1""#, "true", "[1]", "1844674407370955161", "01",
    ]
    static let names = [
        "op": [#""op""#, #""\u006fp""#], "room": [#""room""#, #""r\u006fom""#], "text": [#""text""#, #""tex\u0074""#],
        "after": [#""after""#, #""\u0061fter""#], "to": [#""to""#, #""t\u006f""#],
        "x": [#""x""#, #""limit""#, #""Room""#],
    ]

    /// A small deterministic generator, so that a failure can be reproduced.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    @Test("on 20,000 generated bodies, every request read directly is the one JSONDecoder reads")
    func agreesWithJSONDecoder() throws {
        var generator = Generator(state: 18)
        var direct = 0
        var checked = 0
        for _ in 0..<20_000 {
            var members: [String] = []
            for (field, values) in [
                ("op", Self.ops), ("room", Self.strings), ("text", Self.strings), ("after", Self.integers),
                ("to", Self.integers), ("x", Self.strings + Self.integers),
            ] where Int.random(in: 0..<5, using: &generator) > 0 {
                // Plain spellings and values (each list's first) half the time, so that both
                // paths are taken often.
                let plain = Bool.random(using: &generator)
                let spellings = Self.names[field]!
                let name = plain ? spellings[0] : spellings.randomElement(using: &generator)!
                let value = (plain ? values.prefix(2) : values[...]).randomElement(using: &generator)!
                members.append("\(name):\(value)")
            }
            members.shuffle(using: &generator)
            let body = Array(("{" + members.joined(separator: ",") + "}").utf8)
            guard (try? StrictJSON.validateObject(body)) != nil else { continue }
            checked += 1
            let reference = try? JSONDecoder().decode(ChatRequest.self, from: Data(body))
            guard let request = ChatRequest.plainRequest(body) else { continue }
            direct += 1
            #expect(request == reference, "\(String(decoding: body, as: UTF8.self))")
        }
        // Enough of both paths were taken for the comparison to mean something.
        #expect(checked > 2_000 && direct > 500, "\(checked) checked, \(direct) read directly")
    }

    @Test(
        "plain say, join, leave and direct requests are read directly",
        arguments: [
            (
                #"{"op":"say","room":"bench","text":"hello, everyone in this room"}"#,
                ChatRequest.say(room: "bench", text: "hello, everyone in this room")
            ),
            (
                #" { "text" : "é😀" , "room" : "a" , "op" : "say" , "extra" : [1,{"op":"join"}] } "#,
                .say(room: "a", text: "é😀")
            ),
            (#"{"op":"join","room":"a"}"#, .join(room: "a", after: nil)),
            (#"{"op":"join","room":"a","after":18446744073709551615}"#, .join(room: "a", after: .max)),
            (#"{"op":"leave","room":"a","after":-1}"#, .leave(room: "a")),
            (#"{"op":"direct","to":0,"text":"x","room":5}"#, .direct(to: 0, text: "x")),
        ] as [(String, ChatRequest)])
    func plainRequests(body: String, request: ChatRequest) throws {
        #expect(ChatRequest.plainRequest(Array(body.utf8)) == request)
        #expect(try ChatRequest(strictJSON: Array(body.utf8)) == request)
    }

    @Test(
        "escapes, other ops and fields in error are left to JSONDecoder",
        arguments: [
            #"{"op":"say","room":"a","text":"\n"}"#, #"{"op":"say","r\u006fom":"a","text":"x"}"#,
            #"{"\u006fp":"say","room":"a","text":"x"}"#, #"{"op":"s\u0061y","room":"a","text":"x"}"#,
            #"{"op":"rooms"}"#, #"{"op":"who","room":"a"}"#, #"{"op":"say","room":"a"}"#,
            #"{"op":"say","room":5,"text":"x"}"#,
            #"{"op":"join","room":"a","after":18446744073709551616}"#, #"{"op":"join","room":"a","after":null}"#,
            #"{"op":"direct","to":"1","text":"x"}"#, #"{"op":"direct","text":"x"}"#, #"{"op":"shout"}"#, #"{}"#,
            #"{"op":null,"room":"a"}"#,
        ])
    func leftToJSONDecoder(body: String) {
        #expect(ChatRequest.plainRequest(Array(body.utf8)) == nil)
    }
}
