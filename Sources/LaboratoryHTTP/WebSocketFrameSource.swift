import HummingbirdWebSocket
import Laboratory
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore

/// A WebSocket session's inbound frames: each binary message is one frame's payload.
///
/// A message is checked against the connection's frame size limit as its fragments arrive, before
/// they are joined, so a message over the limit ends the connection with `frameTooLarge` as a TCP
/// frame's length prefix would. A text message, or a fragment out of place, is a protocol
/// violation. WebSocket pings are answered by the WebSocket layer and do not reach here (they are
/// not protocol frames, so they do not count as activity for the idle timeout, as TCP's own
/// keepalive probes do not).
final class WebSocketFrameSource: GatewayFrameSource, @unchecked Sendable {
    /// One read at a time, and its result if nobody was waiting for it any more.
    private struct State {
        var isReading = false
        var unclaimed: Result<ByteBuffer?, any Error>?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        /// Set by ``fail(_:)``: the next call throws it, before any message.
        var failure: (any Error)?
    }

    // Only one read at a time uses it (`State.isReading`).
    private var iterator: WebSocketInboundStream.AsyncIterator
    private let limit: FrameSizeLimit
    private let state = NIOLockedValueBox(State())

    init(_ inbound: WebSocketInboundStream, limit: FrameSizeLimit) {
        self.iterator = inbound.makeAsyncIterator()
        self.limit = limit
    }

    /// The next message. Cancelling the caller ends its wait at once (the connection cancels a
    /// read when a deadline passes), but not the read: the WebSocket's inbound stream ends for
    /// good when a read of it is cancelled, and the connection still has to see the peer's close
    /// after sending its closing frame. The read's result goes to the next call.
    func next() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let (unclaimed, startsRead) = state.withLockedValue {
                    state -> (Result<ByteBuffer?, any Error>?, Bool) in
                    if let failure = state.failure {
                        state.failure = nil
                        return (.failure(failure), false)
                    }
                    if let unclaimed = state.unclaimed {
                        state.unclaimed = nil
                        return (unclaimed, false)
                    }
                    if Task.isCancelled { return (.failure(CancellationError()), false) }
                    state.waiter = continuation
                    let startsRead = !state.isReading
                    state.isReading = true
                    return (nil, startsRead)
                }
                if let unclaimed { continuation.resume(with: unclaimed) }
                if startsRead { Task { await self.read() } }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Ends the connection's reading with `error` (``WebSocketFrameGuard`` saw an oversized frame):
    /// the call waiting now, or the next one, throws it. A read in progress goes on, so the
    /// connection still reads until the WebSocket closes.
    func fail(_ error: any Error) {
        let waiter = state.withLockedValue { state in
            guard let waiter = state.waiter else {
                state.failure = error
                return nil as CheckedContinuation<ByteBuffer?, any Error>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(throwing: error)
    }

    /// Reads one message and hands it to whoever waits, or keeps it for the next call.
    private func read() async {
        let result: Result<ByteBuffer?, any Error>
        do {
            result = .success(try await readMessage())
        } catch {
            result = .failure(error)
        }
        let waiter = state.withLockedValue { state in
            state.isReading = false
            guard let waiter = state.waiter else {
                state.unclaimed = result
                return nil as CheckedContinuation<ByteBuffer?, any Error>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(with: result)
    }

    private func readMessage() async throws -> ByteBuffer? {
        guard let first = try await iterator.next() else { return nil }
        switch first.opcode {
        case .binary:
            break
        case .text:
            throw ProtocolError(
                CloseReason(.protocolViolation, "a text message: protocol frames travel in binary messages"))
        case .continuation:
            throw ProtocolError(CloseReason(.protocolViolation, "a continuation fragment outside a message"))
        }
        var message = first.data
        try check(message.readableBytes)
        var isFinal = first.fin
        while !isFinal {
            guard var fragment = try await iterator.next() else { return nil }
            guard fragment.opcode == .continuation else {
                throw ProtocolError(CloseReason(.protocolViolation, "a new message before the last one ended"))
            }
            try check(message.readableBytes + fragment.data.readableBytes)
            message.writeBuffer(&fragment.data)
            isFinal = fragment.fin
        }
        return message
    }

    private func check(_ size: Int) throws {
        let maximum = limit.current
        guard size <= maximum else {
            throw ProtocolError(
                CloseReason(.frameTooLarge, "message of \(size) bytes exceeds the maximum frame of \(maximum) bytes"))
        }
    }
}
