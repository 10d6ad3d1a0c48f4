import LaboratoryProtocol
import Testing

@testable import laboratory_client

@Suite("session view: commands, roster, status line")
struct SessionViewTests {
    @Test("/rename changes the name for the session; /rename --save also for the next connect")
    func rename() {
        #expect(SessionCommand(parsing: "/rename bea") == .rename("bea", save: false))
        #expect(SessionCommand(parsing: "/rename --save  bea ") == .rename("bea", save: true))
        #expect(SessionCommand(parsing: "/rename --save") == .invalid("usage: /rename --save NAME"))
        #expect(SessionCommand(parsing: "/rename") == .invalid("usage: /rename [--save] NAME"))
    }

    @Test("/help names every command the parser knows")
    func help() {
        for command in [
            "/join", "/leave", "/rooms", "/who", "/msg", "/rename", "--save", "/rekey", "/server-name",
            "/ping", "/help", "/quit", "/exit", "//",
        ] {
            #expect(SessionCommand.helpText.contains(command), "\(command)")
        }
        for line in [
            "/join a", "/leave", "/rooms", "/who", "/msg 1 x", "/rename a", "/rekey", "/server-name", "/ping",
            "/help", "/quit", "/exit",
        ] {
            guard case .invalid = SessionCommand(parsing: line) else { continue }
            Issue.record("\(line) is not a command")
        }
    }

    private func event(_ kind: ChatEvent.Kind, _ id: UInt64, _ name: String, room: String = "lobby") -> ChatEvent {
        ChatEvent(kind: kind, room: room, sequence: nil, from: id, name: name, oldName: nil, text: "hi", time: 0)
    }

    @Test("a message shows the sender's id only while another member of the room has the same name")
    func sharedNames() {
        var roster = RoomRoster()
        roster.joined("lobby", members: [ChatMember(id: 1, name: "ada"), ChatMember(id: 2, name: "bob")])
        #expect(EventText.chat(event(.message, 2, "bob"), me: 1, roster: roster).text == "[lobby] bob: hi")
        roster.apply(event(.joined, 3, "bob"))
        #expect(roster.count(in: "lobby") == 3)
        #expect(EventText.chat(event(.message, 2, "bob"), me: 1, roster: roster).text == "[lobby] bob (#2): hi")
        #expect(EventText.chat(event(.message, 3, "bob"), me: 1, roster: roster).text == "[lobby] bob (#3): hi")
        #expect(EventText.chat(event(.message, 1, "ada"), me: 1, roster: roster).text == "[lobby] ada: hi")
        // Another room's namesake does not count.
        roster.joined("other", members: [ChatMember(id: 4, name: "ada")])
        #expect(EventText.chat(event(.message, 1, "ada"), me: 1, roster: roster).text == "[lobby] ada: hi")
        // One bob renames: the other is alone with the name again.
        roster.apply(event(.renamed, 3, "robert"))
        #expect(EventText.chat(event(.message, 2, "bob"), me: 1, roster: roster).text == "[lobby] bob: hi")
        roster.apply(event(.left, 2, "bob"))
        #expect(roster.count(in: "lobby") == 2)
        roster.left("lobby")
        #expect(roster.count(in: "lobby") == nil)
        roster.apply(event(.joined, 5, "eve"))
        #expect(roster.count(in: "lobby") == nil)
    }

    @Test("the status line names you, the room, its members and the latency")
    func status() {
        var status = StatusLine(name: "ada", id: 3, room: nil, latency: nil)
        #expect(status.text == "ada #3 · no room · ping …")
        status.room = ("lobby", 2)
        status.latency = .microseconds(420)
        #expect(status.text == "ada #3 · lobby · 2 members · 0.42 ms")
        status.room = ("lobby", 1)
        #expect(status.text == "ada #3 · lobby · 1 member · 0.42 ms")
        status.name = "e\u{1B}[2Jve"
        #expect(!status.text.contains("\u{1B}"))
    }
}
