import LaboratoryProtocol
import NIOCore

/// How a gateway's connection sends frames: each frame, as ``Outbound`` built it (its four-byte
/// length prefix first), becomes one message of the gateway's transport (for the WebSocket
/// gateway, one binary message holding the frame without its prefix).
///
/// The TCP path does not use it: its frames go straight to the socket's channel.
package protocol GatewayFrameWriter: Sendable {
    /// Called on the connection channel's event loop: sends `frames` in order. Completes
    /// `written` once the transport has taken the last of them (or failed); until then their bytes
    /// count against the session's slow-consumer bound.
    func write(_ frames: [ByteBuffer], written: EventLoopPromise<Void>)
    /// The closing frame has been written: end the transport's sending side for `reason` (the
    /// counterpart of the TCP half-close after the closing frame).
    func finish(after reason: CloseReason)
}

/// How a gateway's connection reads frames: each transport message is one frame's payload.
/// Only one task reads at a time (the connection's reader).
package protocol GatewayFrameSource: AnyObject, Sendable {
    /// The next frame payload; `nil` once the peer has closed its side (it has then read
    /// everything it will read). Throws a `ProtocolError` for a message that breaks the
    /// transport's rules (too large, of the wrong kind), which ends the connection for that reason.
    func next() async throws -> ByteBuffer?
}

/// Where a connection's frames come from and go to: a TCP socket's channel (the server's own
/// listener), or a gateway carrying them in another transport's messages.
enum FrameTransport: Sendable {
    /// Frames go to the channel as length-prefixed bytes; the channel's decoder splits input.
    case socket
    /// Frames go through the gateway's writer and come from its source; the channel is the
    /// gateway's underlying connection (its event loop, its close).
    case gateway(any GatewayFrameWriter)
}
