import LaboratoryClient
import LaboratoryProtocol

/// A connected session driven by lines from a ``Console``: plain lines are said in the current
/// room (the last one joined) or sent to the echo service when there is none; slash commands
/// (see ``SessionCommand``) do the rest. Events print as they arrive, alongside the commands.
struct InteractiveSession: Sendable {
    /// How the session ended.
    enum Outcome: Sendable, Equatable {
        /// The user quit or input ended; the client said bye.
        case quit
        /// The server or the network ended the session; the message says why.
        case closed(String)
    }

    let session: ClientSession
    let console: any Console
    /// Called after a successful rename, to remember the new name.
    let renamed: @Sendable (String) -> Void

    private var me: UInt64 { session.acceptance.connectionID }

    /// Runs until the user quits, input ends, or the session closes.
    func run() async -> Outcome {
        await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await printEvents() }
            group.addTask {
                await readCommands()
                return nil
            }
            let first = await group.next() ?? nil
            guard let first else {
                // The user is done: say bye, let the remaining events print, then sign off.
                await session.close()
                _ = await group.next()
                console.show("bye", as: .info)
                return .quit
            }
            group.cancelAll()
            return first
        }
    }

    private func printEvents() async -> Outcome {
        for await event in session.events {
            if let (text, style) = EventText.event(event, me: me) {
                console.show(text, as: style)
            } else if case .closed(let reason) = event {
                guard let reason else { return .closed("the connection closed") }
                return .closed("the server closed the session: \(reason.message) (\(reason.code))")
            }
        }
        return .closed("the connection closed")
    }

    private func readCommands() async {
        var rooms: [String] = []
        for await line in console.input {
            guard let command = SessionCommand(parsing: line) else { continue }
            if command == .quit { return }
            await perform(command, rooms: &rooms)
            console.setPrompt(rooms.last.map { "\($0)> " } ?? "> ")
        }
    }

    private func perform(_ command: SessionCommand, rooms: inout [String]) async {
        do {
            switch command {
            case .say(let text):
                if let room = rooms.last {
                    _ = try await session.chat(.say(room: room, text: text))
                } else {
                    let reply = try await session.request(service: "echo", body: Array(text.utf8))
                    console.show("echo: \(EventText.clean(String(decoding: reply, as: UTF8.self)))", as: .received)
                }
            case .join(let room):
                let reply = try await session.chat(.join(room: room, after: nil))
                rooms.removeAll { $0 == room }
                rooms.append(room)
                console.show("joined \(room); members: \(EventText.members(reply.members ?? [], me: me))", as: .info)
            case .leave(let room):
                guard let room = room ?? rooms.last else { return report("you are in no room") }
                _ = try await session.chat(.leave(room: room))
                rooms.removeAll { $0 == room }
                console.show("left \(room)", as: .info)
            case .rooms(let after):
                // One page: a server may have thousands of rooms; /rooms NAME lists those after NAME.
                let reply = try await session.chat(.rooms(after: after))
                let summaries = reply.rooms ?? []
                let list = summaries.map { "\(EventText.clean($0.name)) (\($0.members))" }.joined(separator: ", ")
                var text = summaries.isEmpty ? "no rooms" : "rooms: \(list)"
                if let next = reply.next { text += "; more: /rooms \(EventText.clean(next))" }
                console.show(text, as: .info)
            case .who(let room):
                guard let room = room ?? rooms.last else { return report("you are in no room; use /who ROOM") }
                let members = try await session.chat(.who(room: room)).members ?? []
                console.show("members of \(room): \(EventText.members(members, me: me))", as: .info)
            case .direct(let id, let text):
                _ = try await session.chat(.direct(to: id, text: text))
                console.show("[to #\(id)] \(text)", as: .sent)
            case .rename(let name):
                try await session.rename(to: name)
                renamed(name)
                console.show("you are now \(name)", as: .info)
            case .rekey:
                try await session.rekey()
                console.show("session keys renewed", as: .info)
            case .serverName:
                console.show("server name: \(EventText.clean(try await session.serverName()))", as: .info)
            case .ping:
                let roundTrip = try await session.ping()
                let milliseconds =
                    Double(roundTrip.components.attoseconds) / 1e15
                    + Double(roundTrip.components.seconds) * 1000
                console.show("pong in \((milliseconds * 100).rounded() / 100) ms", as: .info)
            case .help:
                console.show(SessionCommand.helpText, as: .info)
            case .invalid(let message):
                report(message)
            case .quit:
                break
            }
        } catch {
            report(EventText.failure(error))
        }
    }

    private func report(_ message: String) {
        console.show("error: \(message)", as: .error)
    }
}
