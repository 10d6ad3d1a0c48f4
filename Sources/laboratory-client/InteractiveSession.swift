import LaboratoryClient
import LaboratoryProtocol
import NIOConcurrencyHelpers

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
        /// Reconnecting failed for good (a wrong password, a changed key, attempts used up).
        case failed(ClientError)
    }

    /// What both the event printer and the command reader know: the rooms joined (the current
    /// one last), who is in them, the display name and the latest round trip.
    private struct View: Sendable {
        var rooms: [String] = []
        var roster = RoomRoster()
        var name: String
        var latency: Duration?
    }

    /// The session, reconnected after a lost connection unless its policy says never.
    let chat: ReconnectingChatSession
    let console: any Console
    /// Called after `/rename --save`, to remember the new name for the next connect.
    let renamed: @Sendable (String) -> Void
    /// How often the status line's latency is measured.
    var pingInterval: Duration = .seconds(5)
    private let view: NIOLockedValueBox<View>

    init(
        chat: ReconnectingChatSession, console: any Console, name: String,
        renamed: @escaping @Sendable (String) -> Void
    ) {
        self.chat = chat
        self.console = console
        self.renamed = renamed
        view = NIOLockedValueBox(View(name: name))
    }

    /// The current connection: a new one after each reconnection.
    private var session: ClientSession { chat.session }

    private var me: UInt64 { session.acceptance.connectionID }

    /// Runs until the user quits, input ends, or the session closes; on a terminal, measures the
    /// latency for the status line meanwhile.
    func run() async -> Outcome {
        await withTaskGroup(of: Outcome?.self) { group in
            if console.showsStatus {
                showStatus()
                group.addTask {
                    await measureLatency()
                    return nil
                }
            }
            group.addTask { await converse() }
            while let ended = await group.next() {
                // The pings stop when the session ends; the conversation says how it ended.
                guard let outcome = ended else { continue }
                group.cancelAll()
                return outcome
            }
            return .quit
        }
    }

    /// Prints events and runs commands until the user quits, input ends, or the session closes.
    private func converse() async -> Outcome {
        await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await printEvents() }
            group.addTask {
                await readCommands()
                return nil
            }
            let first = await group.next() ?? nil
            guard let first else {
                // The user is done: say bye, let the remaining events print, then sign off.
                await chat.close()
                _ = await group.next()
                console.show("bye", as: .info)
                return .quit
            }
            group.cancelAll()
            return first
        }
    }

    private func printEvents() async -> Outcome {
        var lostReason: CloseReason?
        for await update in chat.updates {
            switch update {
            case .chat(let chatEvent):
                let roster = view.withLockedValue { view in
                    view.roster.apply(chatEvent)
                    return view.roster
                }
                showStatus()
                let (text, style) = EventText.chat(chatEvent, me: me, roster: roster)
                console.show(text, as: style)
            case .event(let event):
                if let (text, style) = EventText.event(event, me: me) { console.show(text, as: style) }
            case .disconnected(let reason):
                lostReason = reason
            case .reconnecting(let delay, let attempt, let failure):
                console.show(
                    ReconnectText.reconnecting(in: delay, attempt: attempt, after: failure, lost: lostReason),
                    as: .error)
            case .resumed(let resumption):
                await refreshRosters()
                showStatus()
                console.show(ReconnectText.resumed(resumption), as: .info)
            case .missedHistory(let room, let from, let to):
                console.show(ReconnectText.missed(room: room, from: from, to: to), as: .error)
            case .numberingRestarted(let room):
                console.show(ReconnectText.restarted(room: room), as: .error)
            case .rejoinFailed(let room, let error):
                view.withLockedValue { view in
                    view.rooms.removeAll { $0 == room }
                    view.roster.left(room)
                }
                console.show("could not rejoin \(EventText.clean(room)): \(EventText.failure(error))", as: .error)
                console.setPrompt(view.withLockedValue { $0.rooms.last }.map { "\($0)> " } ?? "> ")
            case .ended(.closedByUser):
                return .quit
            case .ended(.lost(let reason)):
                guard let reason else { return .closed("the connection closed") }
                return .closed("the server closed the session: \(reason.message) (\(reason.code))")
            case .ended(.gaveUp(let error)):
                return .failed(error)
            }
        }
        return .closed("the connection closed")
    }

    /// After a reconnection, asks each room for its members again: the roster learnt from events
    /// misses what happened while away if the server restarted.
    private func refreshRosters() async {
        for room in await chat.rooms {
            guard let members = try? await chat.session.chatMembers(of: room) else { continue }
            view.withLockedValue { $0.roster.joined(room, members: members) }
        }
    }

    /// Measures the round trip with the protocol's ping every ``pingInterval`` for the status
    /// line, until the session ends (only on a terminal: piped runs send nothing unasked).
    private func measureLatency() async {
        while !Task.isCancelled {
            // While reconnecting the ping fails; the next connection is measured again.
            let roundTrip = try? await session.ping()
            view.withLockedValue { $0.latency = roundTrip }
            showStatus()
            try? await Task.sleep(for: pingInterval)
        }
    }

    private func showStatus() {
        guard console.showsStatus else { return }
        let status = view.withLockedValue { view in
            StatusLine(
                name: view.name, id: me,
                room: view.rooms.last.map { ($0, view.roster.count(in: $0)) }, latency: view.latency)
        }
        console.setStatus(status.text)
    }

    private func readCommands() async {
        for await line in console.input {
            guard let command = SessionCommand(parsing: line) else { continue }
            if command == .quit { return }
            await perform(command)
            let current = view.withLockedValue { $0.rooms.last }
            console.setPrompt(current.map { "\($0)> " } ?? "> ")
            showStatus()
        }
    }

    private func perform(_ command: SessionCommand) async {
        let rooms = view.withLockedValue { $0.rooms }
        do {
            switch command {
            case .say(let text):
                if let room = rooms.last {
                    _ = try await chat.chat(.say(room: room, text: text))
                } else {
                    let reply = try await session.request(service: "echo", body: Array(text.utf8))
                    console.show("echo: \(EventText.clean(String(decoding: reply, as: UTF8.self)))", as: .received)
                }
            case .join(let room):
                let reply = try await chat.join(room)
                view.withLockedValue { view in
                    view.rooms.removeAll { $0 == room }
                    view.rooms.append(room)
                    view.roster.joined(room, members: reply.members ?? [])
                }
                console.show("joined \(room); members: \(EventText.members(reply.members ?? [], me: me))", as: .info)
            case .leave(let room):
                guard let room = room ?? rooms.last else { return report("you are in no room") }
                try await chat.leave(room)
                view.withLockedValue { view in
                    view.rooms.removeAll { $0 == room }
                    view.roster.left(room)
                }
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
            case .rename(let name, let save):
                try await chat.rename(to: name)
                view.withLockedValue { $0.name = name }
                if save {
                    renamed(name)
                    console.show("you are now \(name) (saved for the next connect)", as: .info)
                } else {
                    console.show("you are now \(name)", as: .info)
                }
            case .rekey:
                try await session.rekey()
                console.show("session keys renewed", as: .info)
            case .serverName:
                console.show("server name: \(EventText.clean(try await session.serverName()))", as: .info)
            case .ping:
                let roundTrip = try await session.ping()
                view.withLockedValue { $0.latency = roundTrip }
                console.show("pong in \(StatusLine.milliseconds(roundTrip))", as: .info)
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
