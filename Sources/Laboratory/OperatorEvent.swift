import LaboratoryProtocol
import Logging

/// What the server tells its operator, each event in one place: its level, its message and its
/// fields (README.md, "Logs", lists them). Code that observes one calls ``Logging/Logger/record(_:)``;
/// a counter for the same event belongs in ``record(to:)`` too, so the log and the metric cannot
/// disagree about when it happened.
///
/// Client-supplied text (names, rooms, reasons that may echo a client's words) goes through
/// `ClientText` here and nowhere else. The library logs nothing a client causes above `info`:
/// per-connection events are `debug`; a source's lockout and key rotations are `info`.
enum OperatorEvent: Sendable {
    /// A connection was admitted and its handshake begins.
    case connected
    /// Admission refused a connection at accept; `reason` is what it was sent instead of the hello
    /// (its `retryAfter` is the lockout left, for a locked-out source).
    case connectionRefused(peer: SourceAddress, reason: CloseReason)
    /// A connection's end added penalty time to its source.
    case penalty(peer: SourceAddress, added: Duration, total: Duration)
    /// A source's penalty reached the threshold: its connections are refused for `lockedFor`.
    case lockedOut(peer: SourceAddress, lockedFor: Duration, penalty: Duration)
    /// The display name broke the rules after the right password; the client may send another.
    case nameRejected(NameRejection)
    /// The handshake finished under this display name.
    case accepted(name: String)
    /// A session changed its display name.
    case renamed(from: String, to: String)
    /// A session joined a chat room.
    case joinedRoom(room: String, name: String)
    /// A session left a chat room.
    case leftRoom(room: String, name: String)
    /// A connection ended: why, at which handshake step (or `accepted`), after how long.
    case connectionClosed(reason: CloseReason, step: String, duration: Duration, name: String?)
    /// A new transport key replaced the current one (`cause`: `lifetime` or `handshake-budget`).
    case transportKeyRotated(fingerprint: String, cause: String)

    /// The event's log level.
    var level: Logger.Level {
        switch self {
        case .lockedOut, .transportKeyRotated: .info
        case .connected, .connectionRefused, .penalty, .nameRejected, .accepted, .renamed, .joinedRoom, .leftRoom,
            .connectionClosed:
            .debug
        }
    }

    /// The event's message: fixed text, never client text.
    var message: Logger.Message {
        switch self {
        case .connected: "connected"
        case .connectionRefused: "connection refused"
        case .penalty: "penalty"
        case .lockedOut: "source locked out: its connections are refused until its penalty falls below the threshold"
        case .nameRejected: "name rejected"
        case .accepted: "accepted"
        case .renamed: "renamed"
        case .joinedRoom: "joined room"
        case .leftRoom: "left room"
        case .connectionClosed: "connection closed"
        case .transportKeyRotated: "transport key rotated"
        }
    }

    /// The event's fields (the logger's own, such as `connection` and `peer`, are added to them).
    var metadata: Logger.Metadata {
        switch self {
        case .connected:
            return [:]
        case .connectionRefused(let peer, let reason):
            var metadata: Logger.Metadata = ["peer": "\(peer)", "reason": .client(describing: reason)]
            if let lockedFor = reason.retryAfter { metadata["locked_for"] = "\(lockedFor.logged)" }
            return metadata
        case .penalty(let peer, let added, let total):
            return ["peer": "\(peer)", "added": "\(added.logged)", "total": "\(total.logged)"]
        case .lockedOut(let peer, let lockedFor, let penalty):
            return ["peer": "\(peer)", "locked_for": "\(lockedFor.logged)", "penalty": "\(penalty.logged)"]
        case .nameRejected(let rejection):
            return ["reason": .client(rejection.reason), "attempts_left": "\(rejection.attemptsLeft)"]
        case .accepted(let name):
            return ["name": .client(name)]
        case .renamed(let from, let to):
            return ["from": .client(from), "to": .client(to)]
        case .joinedRoom(let room, let name), .leftRoom(let room, let name):
            return ["room": .client(room), "name": .client(name)]
        case .connectionClosed(let reason, let step, let duration, let name):
            var metadata: Logger.Metadata = [
                "reason": .client(describing: reason), "step": "\(step)", "duration": "\(duration.logged)",
            ]
            if let name { metadata["name"] = .client(name) }
            return metadata
        case .transportKeyRotated(let fingerprint, let cause):
            return ["fingerprint": "\(fingerprint)", "cause": "\(cause)"]
        }
    }

    /// Logs the event through `logger` (if its level lets it through).
    func record(to logger: Logger) {
        guard logger.logLevel <= level else { return }
        logger.log(level: level, message, metadata: metadata)
    }
}

extension Logger {
    /// Records an operator event: the one way the server logs what ``OperatorEvent`` lists.
    func record(_ event: OperatorEvent) { event.record(to: self) }
}
