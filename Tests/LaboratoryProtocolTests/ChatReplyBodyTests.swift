import Foundation
import LaboratoryProtocol
import Testing

/// `ChatReply.jsonBody()` writes the commonest replies directly: it must be exactly what
/// `JSONEncoder` writes, and every reply must follow the strict JSON rules the replies promise.
@Suite("Chat reply bodies")
struct ChatReplyBodyTests {
    @Test(
        "a reply body decodes to the reply, is strict JSON, and is JSONEncoder's bytes when written directly",
        arguments: [
            ChatReply(), ChatReply(sequence: 0), ChatReply(sequence: 1), ChatReply(sequence: 9),
            ChatReply(sequence: 10),
            ChatReply(sequence: 99), ChatReply(sequence: 100), ChatReply(sequence: 1_234_567_890),
            ChatReply(sequence: UInt64.max / 10), ChatReply(sequence: 9_999_999_999_999_999_999),
            ChatReply(sequence: 10_000_000_000_000_000_000), ChatReply(sequence: .max),
            ChatReply(members: [ChatMember(id: 1, name: "ada")], sequence: 3),
            ChatReply(rooms: [ChatRoomSummary(name: "a", members: 2)], next: "a"),
            ChatReply(members: [], sequence: 7, next: "x"),
            ChatReply(sequence: 5, replayed: 2, missedFrom: 1, missedTo: 2), ChatReply(replayed: 0),
            ChatReply(members: []), ChatReply(next: "\u{1F600}\"\\"),
        ])
    func matchesJSONEncoder(reply: ChatReply) throws {
        let body = try reply.jsonBody()
        // JSONEncoder's key order changes from one encoder to the next: bytes can only be
        // compared for a reply of at most one field (every reply written directly).
        if reply == ChatReply(sequence: reply.sequence) {
            #expect(body == Array(try JSONEncoder().encode(reply)), "\(String(decoding: body, as: UTF8.self))")
        }
        try StrictJSON.validateObject(body)
        #expect(try JSONDecoder().decode(ChatReply.self, from: Data(body)) == reply)
    }

    @Test("sequence numbers from 0 to 20,000, around each power of ten and near the top: as JSONEncoder writes them")
    func sequenceNumbers() throws {
        let encoder = JSONEncoder()
        var powers: [UInt64] = []
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            powers += [power - 1, power, power + 1]
        }
        for sequence in Array(0...20_000) + powers + (0...1_000).map({ UInt64.max - $0 }) {
            let reply = ChatReply(sequence: sequence)
            let body = try reply.jsonBody()
            guard body == Array(try encoder.encode(reply)) else {
                Issue.record("\(sequence): \(String(decoding: body, as: UTF8.self))")
                return
            }
        }
    }
}
