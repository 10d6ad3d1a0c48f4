import Laboratory
import LaboratoryClient
import Testing

/// A room flooded until the server drops a member that stopped reading, as a slow consumer.
package enum SlowConsumerFlood {
    /// Says `textBytes`-byte messages in `room` from `sender` until `member` is no longer in it
    /// (looking every `checkEvery` messages) or `maximumMessages` were sent; requires that it was
    /// dropped and that `reader` saw every message and the member leave. Returns the messages sent.
    @discardableResult
    package static func run(
        from sender: ClientSession, in room: String, until member: UInt64,
        isDroppedSeenBy reader: inout ChatEventReader,
        textBytes: Int, maximumMessages: Int, checkEvery: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int {
        let text = String(repeating: "x", count: textBytes)
        var dropped = false
        var sent = 0
        while !dropped && sent < maximumMessages {
            _ = try await sender.chat(.say(room: room, text: text))
            sent += 1
            if sent % checkEvery == 0 {
                let members = try await sender.chat(.who(room: room)).members ?? []
                dropped = !members.contains { $0.id == member }
            }
        }
        #expect(dropped, "the stalled member was never dropped after \(sent) messages", sourceLocation: sourceLocation)
        // The reader saw every message, and the stalled member leave.
        let seen = await reader.collect(sent + 1) { $0.kind == .message || ($0.kind == .left && $0.from == member) }
        #expect(seen.filter { $0.kind == .message }.count == sent, sourceLocation: sourceLocation)
        #expect(seen.contains { $0.kind == .left && $0.from == member }, sourceLocation: sourceLocation)
        return sent
    }
}
