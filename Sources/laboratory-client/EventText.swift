import LaboratoryClient
import LaboratoryProtocol

/// How server events and replies read on screen. Everything that came from the network goes
/// through ``clean(_:)`` first, so no peer can move the cursor, recolour or fake extra lines.
enum EventText {
    /// `text` with control characters made harmless: newlines become `↵`, tabs spaces, and every
    /// other control character (escape included) `�`.
    static func clean(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: result.append("\u{21B5}")
            case 0x09: result.append(" ")
            case 0x00..<0x20, 0x7F..<0xA0: result.append("\u{FFFD}")
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    /// `name (#id)`.
    static func member(_ name: String, _ id: UInt64) -> String { "\(clean(name)) (#\(id))" }

    /// A chat event as a line, styled as sent when it is ours. A message names its sender as
    /// `name (#id)` when `roster` has another member of the room with the same name.
    static func chat(
        _ event: ChatEvent, me: UInt64, roster: RoomRoster = RoomRoster()
    ) -> (text: String, style: Palette.Style) {
        let room = clean(event.room ?? "")
        let who = member(event.name, event.from)
        switch event.kind {
        case .message:
            let shared = event.room.map { roster.isShared(event.name, by: event.from, in: $0) } ?? false
            let sender = shared ? who : clean(event.name)
            return ("[\(room)] \(sender): \(clean(event.text ?? ""))", event.from == me ? .sent : .received)
        case .joined:
            return ("* \(who) joined \(room)", .info)
        case .left:
            return ("* \(who) left \(room)", .info)
        case .renamed:
            return ("* \(member(event.oldName ?? "?", event.from)) renamed to \(clean(event.name)) in \(room)", .info)
        case .direct:
            return ("[direct] \(who): \(clean(event.text ?? ""))", .received)
        }
    }

    /// Any pushed event as a line; `nil` for the final `closed`, which the session reports itself.
    static func event(
        _ event: ClientEvent, me: UInt64, roster: RoomRoster = RoomRoster()
    ) -> (text: String, style: Palette.Style)? {
        switch event {
        case .service(let serviceEvent):
            if let chatEvent = ChatEvent(serviceEvent) { return chat(chatEvent, me: me, roster: roster) }
            return ("[\(clean(serviceEvent.service))] an event of \(serviceEvent.body.count) bytes", .info)
        case .serverStopping(let gracePeriod):
            return ("! the server is stopping; the session ends within \(gracePeriod)", .error)
        case .closed:
            return nil
        }
    }

    /// Members as `ada (#1, you), bob (#2)`.
    static func members(_ members: [ChatMember], me: UInt64) -> String {
        members.map { $0.id == me ? "\(clean($0.name)) (#\($0.id), you)" : member($0.name, $0.id) }
            .joined(separator: ", ")
    }

    /// A failed request or command in words.
    static func failure(_ error: any Error) -> String {
        if let error = error as? ClientError {
            switch error.code {
            case .requestFailed, .connectionFailed: return clean(error.message)
            case .wrongPassword: return "wrong password"
            case .serverKeyMismatch: return clean("server key mismatch: \(error.message)")
            default: return clean(error.description)
            }
        }
        return clean("\(error)")
    }
}
