import Foundation
import Laboratory
import LaboratoryProtocol
import LaboratoryTesting
import Testing

/// The chat rules PROTOCOL.md §17 states normatively, at their boundaries, in memory and over a
/// real server: strict JSON, room names counted in characters of a fixed ASCII set, text counted
/// in bytes.
@Suite("Chat rules at their boundaries")
struct ChatRulesTests {
    @Test(
        "a body breaking a strict JSON rule is refused as not a chat request; the session carries on",
        arguments: ServiceTestMode.allCases)
    func strictJSON(mode: ServiceTestMode) async throws {
        let bodies: [(String, String)] = [
            ("\u{FEFF}{\"op\":\"rooms\"}", "byte-order mark"),
            (#"{"op":"join","room":"a","after":0.0}"#, "integers"),
            (#"{"op":"join","room":"a","after":1e0}"#, "integers"),
            (#"{"op":"say","room":"a","room":"b","text":"x"}"#, "duplicate key"),
            (#"{"op":"say","room":"a","text":"\ud800"}"#, "lone surrogate"),
            (#"{"op":"rooms"}{"op":"rooms"}"#, "after the JSON object"),
        ]
        try await withServiceTest(registry(), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: "a", after: nil))
            for (body, reason) in bodies {
                let error = try await #require(throws: ServiceTestError.self) {
                    try await ada.request("chat", Array(body.utf8))
                }
                #expect(error.status == .serviceError)
                #expect(error.message.hasPrefix("not a chat request: ") && error.message.contains(reason), "\(error)")
            }
            // Nothing was said or joined by the refused bodies, and the session still works.
            #expect(try await ada.chat(.say(room: "a", text: "after")).sequence == 2)
            let good = try await ada.request("chat", Array(#"{"op":"join","room":"b","after":0}"#.utf8))
            // The server's own replies follow the same rules.
            try StrictJSON.validateObject(good)
        }
    }

    @Test(
        "room names: 32 characters of a-z 0-9 - _; another character is refused for itself whatever the length",
        arguments: ServiceTestMode.allCases)
    func roomNames(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: String(repeating: "a", count: 32), after: nil))
            _ = try await ada.chat(.join(room: "0-_z", after: nil))
            for (room, fragment) in [
                (String(repeating: "a", count: 33), "1 to 32 characters"),
                ("", "1 to 32 characters"),
                (String(repeating: "é", count: 16), "use only lowercase"),  // 16 characters, 32 bytes
                (String(repeating: "é", count: 17), "use only lowercase"),  // 17 characters, 34 bytes
                ("A", "use only lowercase"),
                (String(repeating: "É", count: 10_000), "use only lowercase"),
            ] {
                let error = try await #require(throws: ServiceTestError.self) {
                    try await ada.chat(.join(room: room, after: nil))
                }
                #expect(error.message.contains(fragment), "\(room.prefix(40)): \(error.message)")
                // The message quotes at most the limit of the name, not a 20 KB one.
                #expect(error.message.count < 120)
            }
        }
    }

    @Test("message text is counted in UTF-8 bytes: 4,096 bytes pass, 4,097 do not", arguments: ServiceTestMode.allCases)
    func textBytes(mode: ServiceTestMode) async throws {
        try await withServiceTest(registry(), mode: mode) { client in
            let ada = try await client.session(name: "ada")
            _ = try await ada.chat(.join(room: "a", after: nil))
            let atLimit = String(repeating: "é", count: 2048)  // 2,048 characters, 4,096 bytes
            #expect(try await ada.chat(.say(room: "a", text: atLimit)).sequence == 2)
            let error = try await #require(throws: ServiceTestError.self) {
                try await ada.chat(.say(room: "a", text: atLimit + "a"))
            }
            #expect(error.message.contains("4097 bytes"))
        }
    }
}
