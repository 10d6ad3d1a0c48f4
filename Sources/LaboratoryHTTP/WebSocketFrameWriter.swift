import HummingbirdWebSocket
import Laboratory
import LaboratoryProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket

/// A WebSocket session's outbound frames: each frame becomes one binary message (without its
/// length prefix), sent in order by ``run(_:)``, which the gateway's handler runs beside the
/// connection. After the closing frame the WebSocket is closed with ``closeCode(for:)``.
///
/// The connection's writes arrive on the event loop and must not wait; the WebSocket's writer is
/// asynchronous. Frames therefore wait here until `run` sends them, and each batch's promise
/// completes when the WebSocket has taken its last frame: until then its bytes count against the
/// session's slow-consumer bound, as bytes the socket has not taken do over TCP. Every promise is
/// completed, failed if the WebSocket is gone.
package final class WebSocketFrameWriter: GatewayFrameWriter {
    private enum Command {
        case frames([ByteBuffer], EventLoopPromise<Void>)
        case finish(CloseReason)
    }

    private struct State {
        var commands: [Command] = []
        var waiter: CheckedContinuation<Void, Never>?
        /// No more commands will come (the closing frame is out, or the connection has ended).
        var isEnded = false
        /// `run` has returned: later writes fail at once.
        var isStopped = false
    }

    private let state = NIOLockedValueBox(State())

    package func write(_ frames: [ByteBuffer], written: EventLoopPromise<Void>) {
        push(.frames(frames, written))
    }

    package func finish(after reason: CloseReason) {
        push(.finish(reason))
    }

    /// The connection has ended: `run` returns once it has sent what is queued.
    func end() {
        let waiter = state.withLockedValue { state in
            state.isEnded = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func push(_ command: Command) {
        let (waiter, rejected) = state.withLockedValue { state -> (CheckedContinuation<Void, Never>?, Bool) in
            guard !state.isStopped else { return (nil, true) }
            state.commands.append(command)
            defer { state.waiter = nil }
            return (state.waiter, false)
        }
        if rejected, case .frames(_, let written) = command { written.fail(ChannelError.ioOnClosedChannel) }
        waiter?.resume()
    }

    /// Sends queued frames through `outbound` until the closing frame's close, or until ``end()``.
    func run(_ outbound: WebSocketOutboundWriter) async {
        var isOpen = true
        while true {
            let commands = await nextCommands()
            guard let commands else { break }
            for command in commands {
                switch command {
                case .frames(let frames, let written):
                    guard isOpen else {
                        written.fail(ChannelError.ioOnClosedChannel)
                        continue
                    }
                    do {
                        for var frame in frames {
                            frame.moveReaderIndex(forwardBy: Frame.headerByteCount)
                            try await outbound.write(.binary(frame))
                        }
                        written.succeed()
                    } catch {
                        isOpen = false
                        written.fail(error)
                    }
                case .finish(let reason):
                    if isOpen { try? await outbound.close(Self.closeCode(for: reason), reason: nil) }
                    isOpen = false
                }
            }
        }
        // Whatever arrives now can no longer be sent.
        let left = state.withLockedValue { state in
            state.isStopped = true
            defer { state.commands = [] }
            return state.commands
        }
        for case .frames(_, let written) in left { written.fail(ChannelError.ioOnClosedChannel) }
    }

    /// The queued commands, waiting for some; `nil` once ended with nothing queued.
    private func nextCommands() async -> [Command]? {
        while true {
            let taken = state.withLockedValue { state -> [Command]?? in
                if !state.commands.isEmpty {
                    defer { state.commands = [] }
                    return .some(state.commands)
                }
                return state.isEnded ? .some(nil) : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let ready = state.withLockedValue { state in
                    guard state.commands.isEmpty, !state.isEnded else { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// The WebSocket status the gateway closes with after the closing frame: 1008 (policy
    /// violation) when the client broke the protocol's rules or was refused, 1000 otherwise. The closing frame
    /// before it says exactly why.
    package static func closeCode(for reason: CloseReason) -> WebSocketErrorCode {
        switch reason.code {
        case .protocolViolation, .frameTooLarge, .decryptionFailed, .wrongPassword, .invalidName,
            .plaintextNotAllowed, .unsupportedVersion, .keyExhausted, .refused:
            .policyViolation
        default:
            .normalClosure
        }
    }
}
