import DequeModule
import NIOCore
import Synchronization

/// A frame as the connection's reader gets it: as read (sealed, once keys exist), or already opened
/// by the event loop, which then found nothing in it to answer at once (see
/// ``SessionReceiver/serveImmediately(_:)``).
enum InboundFrame {
    case sealed(ByteBuffer)
    case opened(ByteBuffer)
}

/// Where a connection's inbound frames come from: a TCP channel's decoded frames
/// (``InboundFrames``) or a gateway's messages (``GatewayInboundFrames``). `Connection` reads
/// through it generically, so the TCP path is specialized to ``InboundFrames`` and costs what it
/// did before gateways existed (an existential, or one class holding an optional channel
/// iterator, each cost 1.5 to 3.8 k instructions per echo round trip under callgrind).
protocol InboundFrameSource: AnyObject, Sendable {
    /// The next frame; `nil` once the channel is closed (or the gateway's peer has closed), or when
    /// the waiting task is cancelled.
    func next() async throws -> InboundFrame?
    /// ``next()``, letting `receiver` answer requests for immediate services as they are read
    /// meanwhile (see ``SessionReceiver/serveImmediately(_:)``). Call it only with no request in
    /// flight. A source that cannot answer on its own thread (a gateway's) is ``next()``.
    func next(servingImmediately receiver: SessionReceiver) async throws -> InboundFrame?
    /// Whether the frames come through a gateway: their end is then the peer's close (the
    /// gateway's underlying connection closes only after the connection has ended).
    static var isGateway: Bool { get }
}

/// A TCP connection's decoded frames, handed from the channel's event loop to the connection's
/// task: the last handler of the child channel's pipeline (after the frame decoder), and the
/// connection's one source of frames.
///
/// A frame read while the connection waits resumes its waiting task at once; otherwise it is
/// buffered until the connection asks. Reads are demand-driven as they were through
/// `NIOAsyncChannel` (the same watermarks): once ``highWatermark`` frames wait unread, the channel
/// reads no more until the connection has taken all but fewer than ``lowWatermark`` of them. So a
/// connection that does not read (a wrong password's delay) holds at most that many frames and one
/// read. Only one task reads at a time (the handshake reader, then the session reader). The channel's
/// end (its close, or a decoder error such as an oversized frame) is delivered after the frames read
/// before it. Cancelling the waiting task ends that wait with `nil`; the source stays usable, so the
/// close path can still read and drop what the peer sends until it closes.
///
/// While the reader waits in `next(servingImmediately:)`, a frame read is first offered to the
/// session's ``SessionReceiver`` on the event loop, which answers a request for an immediate
/// service there and hands the reader anything else (opened), so that such a request and its
/// response never leave the loop. The reader's wait goes on until a frame is handed to it.
///
/// This replaces `NIOAsyncChannel`'s inbound stream, whose generic async-sequence machinery cost
/// about 18 k instructions per frame and 75 k per connection to set up (callgrind, issue 18).
final class InboundFrames: ChannelDuplexHandler, InboundFrameSource, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    /// Frames waiting unread at which the channel stops reading (`NIOAsyncChannel`'s default).
    static let highWatermark = 10
    /// Reading resumes once fewer than this many frames wait (`NIOAsyncChannel`'s default).
    static let lowWatermark = 2

    private struct State {
        var frames: Deque<InboundFrame> = []
        /// The reader's suspended `next()`, with the token of that call, and the receiver that
        /// answers immediate requests meanwhile, if it waits in `next(servingImmediately:)`.
        var waiter: Waiter?
        /// How the channel ended, once it has; delivered after the buffered frames.
        var end: (any Error)??
        /// A `read` the channel asked for and this handler held back (too many frames waiting).
        var readWithheld = false
        var lastToken: UInt64 = 0
        /// The token of a `next()` cancelled before it suspended.
        var cancelledToken: UInt64?
    }

    private struct Waiter {
        var token: UInt64
        var continuation: UnsafeContinuation<InboundFrame?, any Error>
        var receiver: SessionReceiver?
    }

    /// What a reader takes from the state.
    private enum Take {
        case frame(InboundFrame, resumeReads: Bool)
        case end((any Error)?)
        case wait
    }

    private let state = Mutex(State())
    /// The channel, to ask for reads again from the reader's thread (`Channel.read()` hops to the
    /// event loop, and passes through `read(context:)` below).
    private let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    static var isGateway: Bool { false }

    /// Frames read and not yet taken (for tests).
    var bufferedFrameCount: Int { state.withLock { $0.frames.count } }

    // MARK: The reader's side

    /// The next frame; `nil` once the channel is closed, or if the waiting task is cancelled.
    /// Throws the error that ended the channel's input (a decoder error) once, after the frames
    /// read before it.
    func next() async throws -> InboundFrame? {
        try await next(receiver: nil)
    }

    func next(servingImmediately receiver: SessionReceiver) async throws -> InboundFrame? {
        try await next(receiver: receiver)
    }

    private func next(receiver: SessionReceiver?) async throws -> InboundFrame? {
        switch state.withLock({ Self.take(&$0) }) {
        case .frame(let frame, let resumeReads):
            if resumeReads { channel.read() }
            return frame
        case .end(let error):
            if let error { throw error }
            return nil
        case .wait:
            return try await wait(receiver: receiver)
        }
    }

    @inline(never)
    private func wait(receiver: SessionReceiver?) async throws -> InboundFrame? {
        let token = state.withLock {
            $0.lastToken &+= 1
            return $0.lastToken
        }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<InboundFrame?, any Error>) in
                let take = state.withLock { state -> Take? in
                    if state.cancelledToken == token {
                        state.cancelledToken = nil
                        return Take.end(nil)
                    }
                    switch Self.take(&state) {
                    case .wait:
                        state.waiter = Waiter(token: token, continuation: continuation, receiver: receiver)
                        return nil
                    case let taken:
                        return taken
                    }
                }
                switch take {
                case nil:
                    break
                case .frame(let frame, let resumeReads)?:
                    if resumeReads { channel.read() }
                    continuation.resume(returning: frame)
                case .end(let error?)?:
                    continuation.resume(throwing: error)
                case .end(nil)?, .wait?:
                    continuation.resume(returning: nil)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> UnsafeContinuation<InboundFrame?, any Error>? in
                if let waiter = state.waiter, waiter.token == token {
                    state.waiter = nil
                    return waiter.continuation
                }
                state.cancelledToken = token
                return nil
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Takes the first buffered frame, or the end once every frame has been taken.
    private static func take(_ state: inout State) -> Take {
        if let frame = state.frames.popFirst() {
            let resumeReads = state.readWithheld && state.frames.count < lowWatermark
            if resumeReads { state.readWithheld = false }
            return .frame(frame, resumeReads: resumeReads)
        }
        guard let end = state.end else { return .wait }
        // An error is delivered once; after it the source reads as ended.
        if end != nil { state.end = .some(nil) }
        return .end(end)
    }

    // MARK: The channel's side (on its event loop)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let taken = state.withLock { state -> Waiter? in
            guard let waiter = state.waiter else {
                state.frames.append(.sealed(frame))
                return nil
            }
            // A reader that lets the loop answer keeps waiting while it does.
            if waiter.receiver == nil { state.waiter = nil }
            return waiter
        }
        guard let taken else { return }
        guard let receiver = taken.receiver else {
            taken.continuation.resume(returning: .sealed(frame))
            return
        }
        switch receiver.serveImmediately(frame) {
        case .served:
            break
        case .deliver(let frame):
            deliver(frame)
        case .failed(let error):
            finish(error)
        }
    }

    /// Hands a frame the receiver did not answer to the waiting reader, or buffers it if the
    /// reader's wait has ended meanwhile (cancelled: it then only drains the channel).
    private func deliver(_ frame: InboundFrame) {
        let waiter = state.withLock { state -> UnsafeContinuation<InboundFrame?, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.frames.append(frame)
            return nil
        }
        waiter?.resume(returning: frame)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(nil)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { finish(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    /// Holds back the channel's read while too many frames wait unread.
    func read(context: ChannelHandlerContext) {
        let withhold = state.withLock { state -> Bool in
            guard state.frames.count >= Self.highWatermark else { return false }
            state.readWithheld = true
            return true
        }
        if !withhold { context.read() }
    }

    /// The input has ended (`error` nil: closed): wakes a waiting reader with it; a later reader
    /// gets it after the buffered frames. The first end counts.
    private func finish(_ error: (any Error)?) {
        let waiter = state.withLock { state -> UnsafeContinuation<InboundFrame?, any Error>? in
            guard state.end == nil else { return nil }
            // A waiting reader means no frame is buffered: it gets the end now, once.
            if let waiter = state.waiter {
                state.waiter = nil
                state.end = .some(nil)
                return waiter.continuation
            }
            state.end = .some(error)
            return nil
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }
}

/// A gateway connection's frames, one per transport message.
final class GatewayInboundFrames: InboundFrameSource {
    private let source: any GatewayFrameSource

    init(_ source: any GatewayFrameSource) {
        self.source = source
    }

    static var isGateway: Bool { true }

    func next() async throws -> InboundFrame? {
        try await source.next().map { .sealed($0) }
    }

    /// The gateway's frames come from its own connection's task: nothing is answered on the way.
    func next(servingImmediately receiver: SessionReceiver) async throws -> InboundFrame? {
        try await next()
    }
}
