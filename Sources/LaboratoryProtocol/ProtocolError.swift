/// A violation of protocol v1 by the peer: malformed bytes, a message out of order, a frame that
/// does not authenticate. Each carries the ``CloseReason`` the connection ends with.
package struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reason to close the connection with, and to report to the peer.
    package let closeReason: CloseReason

    /// Wraps a close reason.
    package init(_ closeReason: CloseReason) { self.closeReason = closeReason }

    package var description: String { closeReason.description }

    /// Bytes that do not parse as the expected structure.
    package static func malformed(_ detail: String) -> ProtocolError {
        ProtocolError(CloseReason(.protocolViolation, "malformed message: \(detail)"))
    }

    /// A well-formed message that is not allowed in the current state.
    package static func unexpected(_ message: String, in state: String) -> ProtocolError {
        ProtocolError(CloseReason(.protocolViolation, "unexpected \(message) while \(state)"))
    }
}
