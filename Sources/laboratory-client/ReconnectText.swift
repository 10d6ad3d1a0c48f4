import LaboratoryClient
import LaboratoryProtocol

/// The lines the terminal client shows while it reconnects: the loss, each wait, the
/// resumption and what could not be recovered (PROTOCOL.md §17, *Reconnecting and resuming*).
enum ReconnectText {
    /// The line for a wait before attempt `attempt`: the first names why the connection was lost,
    /// later ones why the previous attempt failed.
    static func reconnecting(in delay: Duration, attempt: Int, after failure: ClientError?, lost reason: CloseReason?)
        -> String
    {
        let wait = "reconnecting in \(seconds(delay))…"
        if let failure { return "could not reconnect (\(why(failure))); " + wait }
        guard attempt == 1 else { return wait }
        if let reason {
            return "connection lost (\(EventText.clean(reason.message)), code \(reason.code.rawValue)); " + wait
        }
        return "connection lost; " + wait
    }

    /// Why an attempt failed, briefly: the next attempt follows on the same line.
    static func why(_ failure: ClientError) -> String {
        switch failure.code {
        case .connectionFailed:
            switch failure.connectFailure ?? .other {
            case .refused: return "connection refused"
            case .timedOut: return "no answer"
            case .unreachable: return "no route to the host"
            case .unknownHost: return "the host name does not resolve"
            case .other: return EventText.failure(failure)
            }
        case .connectionClosed where failure.closeReason == nil:
            return "the connection closed during the handshake"
        case .rejected, .connectionClosed:
            if let wait = failure.retryAfter { return "locked out for \(seconds(wait))" }
            if let reason = failure.closeReason {
                return "\(EventText.clean(reason.message)), code \(reason.code.rawValue)"
            }
            return EventText.failure(failure)
        default:
            return EventText.failure(failure)
        }
    }

    /// `reconnected; 3 missed messages`.
    static func resumed(_ resumption: ReconnectingChatSession.Resumption) -> String {
        switch resumption.missedMessages {
        case 0: "reconnected; no missed messages"
        case 1: "reconnected; 1 missed message"
        case let count: "reconnected; \(count) missed messages"
        }
    }

    /// Events the server no longer held.
    static func missed(room: String, from: UInt64, to: UInt64) -> String {
        let count = to >= from ? to - from + 1 : 0
        let events = count == 1 ? "1 event" : "\(count) events"
        return "missed \(events) in \(EventText.clean(room)) (\(from) to \(to)): more than the server keeps"
    }

    /// The room's numbering restarted.
    static func restarted(room: String) -> String {
        "the server restarted: what was said in \(EventText.clean(room)) while you were away may be missing"
    }

    /// A delay as `2.1 s`, or `40 ms` below a tenth of a second.
    static func seconds(_ delay: Duration) -> String {
        let seconds = delay.fractionalSeconds
        if seconds < 0.1 { return "\(Int((seconds * 1000).rounded())) ms" }
        return "\((seconds * 10).rounded() / 10) s"
    }
}
