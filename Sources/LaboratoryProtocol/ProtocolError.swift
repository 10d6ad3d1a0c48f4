/// A violation of protocol v1 by the peer: malformed bytes, a message out of order, a frame that
/// does not authenticate. Each carries the ``CloseReason`` the connection ends with.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reason to close the connection with, and to report to the peer.
    public let closeReason: CloseReason

    /// Wraps a close reason.
    public init(_ closeReason: CloseReason) { self.closeReason = closeReason }

    public var description: String { closeReason.description }

    /// Bytes that do not parse as the expected structure.
    public static func malformed(_ detail: String) -> ProtocolError {
        ProtocolError(CloseReason(.protocolViolation, "malformed message: \(detail)"))
    }

    /// A well-formed message that is not allowed in the current state.
    public static func unexpected(_ message: String, in state: String) -> ProtocolError {
        ProtocolError(CloseReason(.protocolViolation, "unexpected \(message) while \(state)"))
    }
}
