import Foundation
import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol

/// What an accepted prototype client can do: ask the server's name, echo, and chat through the
/// same services v1 clients use, with text commands.
///
/// - `NAME ?` → the server's name.
/// - `/join ROOM`, `/leave`, `/who`, `/rooms`, `/msg ID TEXT`: chat; replies and events are text.
/// - `STOP SERVER` → logged and ignored: clients cannot stop the server.
/// - Anything else goes to the room joined last, or, in no room, to the echo reply.
extension LegacyConnection {
    func serve(_ message: String) async {
        guard let identity else { return }
        if message == "NAME ?" {
            writer.send(context.serverName)
            return
        }
        if message == "STOP SERVER" {
            logger.debug("a legacy client sent STOP SERVER; ignored (clients cannot stop the server)")
            return
        }
        let words = message.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
        switch words.first {
        case "/join" where words.count == 2:
            if let reply = await chat(.join(room: words[1], after: nil), identity) {
                room = words[1]
                writer.send("* you joined \(words[1]) (\(reply.members?.count ?? 0) here)")
            }
        case "/leave":
            guard let current = room else {
                writer.send("! you are in no room")
                return
            }
            if await chat(.leave(room: current), identity) != nil {
                room = nil
                writer.send("* you left \(current)")
            }
        case "/who":
            guard let current = room else {
                writer.send("! you are in no room")
                return
            }
            if let reply = await chat(.who(room: current), identity) {
                writer.send(
                    "* in \(current): " + (reply.members ?? []).map { "\($0.name) (#\($0.id))" }.joined(separator: ", ")
                )
            }
        case "/rooms":
            if let reply = await chat(.rooms(), identity) {
                writer.send(
                    "* rooms: " + (reply.rooms ?? []).map { "\($0.name) (\($0.members))" }.joined(separator: ", ")
                        + (reply.next == nil ? "" : ", ..."))
            }
        case "/msg" where words.count == 3:
            guard let recipient = UInt64(words[1].trimmingCharacters(in: CharacterSet(charactersIn: "#"))) else {
                writer.send("! usage: /msg ID TEXT")
                return
            }
            _ = await chat(.direct(to: recipient, text: words[2]), identity)
        default:
            if let current = room {
                _ = await chat(.say(room: current, text: message), identity)
            } else {
                writer.send(configuration.echoReply(message))
            }
        }
    }

    /// Calls the chat service; on failure sends `! reason` and returns `nil`.
    private func chat(_ request: ChatRequest, _ identity: SessionIdentity) async -> ChatReply? {
        guard context.services.service(named: ChatService.defaultName) != nil else {
            writer.send("! this server has no chat service")
            return nil
        }
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(request))
        } catch {
            writer.send("! the request could not be encoded")
            return nil
        }
        let response = await context.respond(
            to: Request(id: 0, service: ChatService.defaultName, body: body), session: identity, events: eventSink,
            logger: logger)
        guard response.status == .ok, let reply = try? JSONDecoder().decode(ChatReply.self, from: Data(response.body))
        else {
            writer.send("! \(response.errorMessage)")
            return nil
        }
        return reply
    }

    /// Turns pushed events into text lines for the prototype client.
    nonisolated var eventSink: EventSink {
        EventSink(connectionID: id) { [writer] event in
            // Any service's event whose body is a chat event (chat may be registered under another name).
            guard let chat = ChatEvent(event, service: event.service) else {
                return writer.send("[\(event.service)] " + String(decoding: event.body, as: UTF8.self))
            }
            return writer.send(Self.line(for: chat))
        }
    }

    static func line(for event: ChatEvent) -> String {
        let room = event.room ?? ""
        switch event.kind {
        case .message: return "[\(room)] \(event.name): \(event.text ?? "")"
        case .joined: return "* \(event.name) joined \(room)"
        case .left: return "* \(event.name) left \(room)"
        case .renamed: return "* \(event.oldName ?? "?") is now \(event.name) in \(room)"
        case .direct: return "[direct] \(event.name) (#\(event.from)): \(event.text ?? "")"
        }
    }
}
