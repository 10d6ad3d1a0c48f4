import LaboratoryClient
import LaboratoryProtocol
import Testing

/// ``ChatResumeLedger``: which events of a resumed room are delivered, in what order, whatever
/// the order in which the events and the `join` reply arrive; and the window and restart
/// notices (PROTOCOL.md §17, *Reconnecting and resuming*).
@Suite("Chat resume ledger")
struct ChatResumeLedgerTests {
    static func event(_ sequence: UInt64, _ kind: ChatEvent.Kind = .message, room: String = "lobby") -> ChatEvent {
        ChatEvent(kind: kind, room: room, sequence: sequence, from: 2, name: "bob", text: "m\(sequence)", time: 0)
    }

    /// A ledger in `lobby`, having delivered events 1 through `last`.
    static func ledger(last: UInt64) -> ChatResumeLedger {
        var ledger = ChatResumeLedger()
        ledger.joining("lobby")
        _ = ledger.receive(event(1, .joined))
        ledger.joined("lobby", reply: ChatReply(sequence: 1))
        if last >= 2 { for number in 2...last { _ = ledger.receive(event(number)) } }
        return ledger
    }

    @Test("resumes after the last number delivered; replayed duplicates are dropped, the rest delivered once in order")
    func dropsDuplicates() {
        var ledger = Self.ledger(last: 5)
        let joins = ledger.beginResumption()
        #expect(joins.map(\.room) == ["lobby"] && joins.map(\.after) == [5])
        #expect(!ledger.isResumptionComplete)
        // A server that pushes an old event again (or a live copy of a replayed one) is ignored.
        #expect(ledger.receive(Self.event(4)) == nil)
        #expect(ledger.receive(Self.event(6))?.sequence == 6)
        #expect(ledger.receive(Self.event(6)) == nil)
        #expect(ledger.receive(Self.event(7))?.sequence == 7)
        #expect(ledger.receive(Self.event(8, .joined))?.sequence == 8)
        let (deliver, notices) = ledger.resumed("lobby", after: 5, reply: ChatReply(sequence: 8, replayed: 2))
        #expect(deliver.isEmpty && notices.isEmpty)
        #expect(ledger.isResumptionComplete)
        #expect(ledger.missedMessages == 2)
        #expect(ledger.lastSequence(in: "lobby") == 8)
    }

    @Test("a reply handled before the events pushed ahead of it completes only once they are delivered")
    func replyBeforeEvents() {
        var ledger = Self.ledger(last: 5)
        _ = ledger.beginResumption()
        let (deliver, notices) = ledger.resumed("lobby", after: 5, reply: ChatReply(sequence: 7, replayed: 1))
        #expect(deliver.isEmpty && notices.isEmpty)
        #expect(!ledger.isResumptionComplete)
        #expect(ledger.receive(Self.event(5)) == nil)
        #expect(ledger.receive(Self.event(6))?.sequence == 6)
        #expect(!ledger.isResumptionComplete)
        #expect(ledger.receive(Self.event(7, .joined))?.sequence == 7)
        #expect(ledger.isResumptionComplete)
        #expect(ledger.missedMessages == 1)
    }

    @Test("missedFrom/missedTo become a notice; the held events after the gap are still delivered")
    func windowExceeded() {
        var ledger = Self.ledger(last: 40)
        _ = ledger.beginResumption()
        #expect(ledger.receive(Self.event(60))?.sequence == 60)
        #expect(ledger.receive(Self.event(61, .joined))?.sequence == 61)
        let (_, notices) = ledger.resumed(
            "lobby", after: 40, reply: ChatReply(sequence: 61, replayed: 2, missedFrom: 41, missedTo: 59))
        #expect(notices == [.missed(room: "lobby", from: 41, to: 59)])
        #expect(ledger.isResumptionComplete)
    }

    @Test("a reply sequence not above after means the numbering restarted: held events are released in order")
    func numberingRestarted() {
        var ledger = Self.ledger(last: 9)
        _ = ledger.beginResumption()
        // A new server run: the room's own numbers, all at or below the old `after`.
        #expect(ledger.receive(Self.event(2)) == nil)
        #expect(ledger.receive(Self.event(3, .joined)) == nil)
        let (deliver, notices) = ledger.resumed("lobby", after: 9, reply: ChatReply(sequence: 3, replayed: 0))
        #expect(notices == [.numberingRestarted(room: "lobby")])
        #expect(deliver.map(\.sequence) == [2, 3])
        #expect(ledger.isResumptionComplete)
        // The new numbering goes on from there.
        #expect(ledger.receive(Self.event(4))?.sequence == 4)
        #expect(ledger.lastSequence(in: "lobby") == 4)
    }

    @Test("after a restart reported before its events arrive, those events are still delivered")
    func restartReplyFirst() {
        var ledger = Self.ledger(last: 9)
        _ = ledger.beginResumption()
        let (deliver, notices) = ledger.resumed("lobby", after: 9, reply: ChatReply(sequence: 1, replayed: 0))
        #expect(deliver.isEmpty && notices == [.numberingRestarted(room: "lobby")])
        #expect(!ledger.isResumptionComplete)
        #expect(ledger.receive(Self.event(1, .joined))?.sequence == 1)
        #expect(ledger.isResumptionComplete)
    }

    @Test("left rooms are not resumed and start afresh; other rooms and direct messages pass untouched")
    func membership() {
        var ledger = Self.ledger(last: 3)
        ledger.joining("swift")
        ledger.joined("swift", reply: ChatReply(sequence: 12))
        // A room whose events were never seen resumes from its join reply's sequence.
        #expect(ledger.beginResumption().map(\.after) == [3, 12])
        ledger.left("lobby")
        #expect(ledger.memberships == ["swift"])
        // Events of a room not tracked (racing a leave) and direct messages are delivered as they come.
        #expect(ledger.receive(Self.event(1)) != nil)
        let direct = ChatEvent(kind: .direct, room: nil, sequence: nil, from: 2, name: "bob", text: "psst", time: 0)
        #expect(ledger.receive(direct) == direct)
        ledger.joining("lobby")
        ledger.joinFailed("lobby")
        #expect(!ledger.isMember(of: "lobby"))
        ledger.resumeFailed("swift")
        #expect(ledger.memberships.isEmpty && ledger.isResumptionComplete)
    }
}
