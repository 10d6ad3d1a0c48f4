@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Limits on what one session may have waiting to be sent, and when its keys are renewed.
public struct OutboundLimits: Sendable, Hashable {
    /// No longer used: counting frames also counted frames the server had merely not flushed yet,
    /// which dropped clients that read continuously during a burst. The bound is
    /// ``maximumQueuedBytes``, on what the peer has not taken.
    @available(*, deprecated, message: "the slow-consumer bound is maximumQueuedBytes alone")
    public var maximumQueuedFrames: Int {
        get { 0 }
        set {}
    }
    /// Bytes of frames (length prefixes included) that the peer has not taken, that is, not yet
    /// written to its socket, before the session counts as a slow consumer and is disconnected. A
    /// frame that finds nothing waiting is always sent, however large. Default 1 MiB.
    public var maximumQueuedBytes: Int = 1 << 20
    /// How long a connection the server ends waits, after sending its closing frame, for the peer
    /// to take that frame and close its side, before it is closed anyway (so a peer that never
    /// reads cannot hold it open). Default 2 seconds.
    public var closeTimeout: Duration = .seconds(2)
    /// Renew a direction's key after this many frames. Default 2^20.
    public var rekeyAfterFrames: UInt64 = 1 << 20
    /// Renew a direction's key after this many payload bytes. Default 1 GiB.
    public var rekeyAfterBytes: UInt64 = 1 << 30
    /// Renew the sending key when a frame is sent this long after the last renewal. Default 1 hour.
    public var rekeyInterval: Duration = .seconds(3600)

    /// The defaults.
    public init() {}
}

/// The sending half of a server connection: seals and writes frames in counter order from any
/// task, bounds what may be queued, and renews the sending key.
///
/// The connection actor owns it; services reach it only through an ``EventSink``. Sealing and
/// queueing the frame for the channel happen under one lock, so frames reach the event loop in the
/// order of their counters whoever sends them, and a key update takes effect exactly at its frame.
/// The event loop takes whatever is queued in one go, writes it in order and flushes once.
final class Outbound: Sendable {
    /// Only ever touched inside `state`'s lock, which is what makes the sealer's cipher context
    /// safe to share.
    private struct State: @unchecked Sendable {
        var sealer: RecordSealer?
        var keyStarted: AnyTimerClock.Instant
        var failure: CloseReason?
        /// Automatic key renewal starts when the session is accepted.
        var renewsKeys = false
        /// Sealed frames waiting for the event loop, in order.
        var pending: [ByteBuffer] = []
        /// Whether a task on the event loop will write `pending`.
        var drainScheduled = false
        /// Whether `pending` ends with the closing frame: once it is written, the sending side of
        /// the socket is shut down.
        var closingPending = false
    }

    private let state: NIOLockedValueBox<State>
    /// Bytes sealed for this session and not yet written to its socket: those waiting for the
    /// event loop and those the channel holds because the socket would not take them.
    private let queuedBytes = Atomic<Int>(0)
    let channel: any Channel
    /// Whether frames go to `channel` itself or through a gateway's writer.
    let transport: FrameTransport
    let limits: OutboundLimits
    /// The session's byte counts (the admin API's list): sent here, received by the connection.
    let counters = SessionCounters()
    /// The server's clock: the key's age and the close timeout.
    let clock: AnyTimerClock
    /// Counts the bytes written to the socket, length prefixes included.
    private let metrics: ServerMetrics

    init(
        channel: any Channel, transport: FrameTransport = .socket, limits: OutboundLimits, clock: AnyTimerClock,
        metrics: ServerMetrics = .disabled
    ) {
        self.channel = channel
        self.transport = transport
        self.limits = limits
        self.clock = clock
        self.metrics = metrics
        self.state = NIOLockedValueBox(State(keyStarted: clock.now))
    }

    /// Why the outbound side gave up (slow consumer, sealing failure), if it did.
    var failure: CloseReason? { state.withLockedValue { $0.failure } }

    /// From now on every frame is sealed with this key and IV.
    func installKey(_ key: [UInt8], iv: [UInt8]) throws {
        try state.withLockedValue { state in
            state.sealer = try RecordSealer(key: key, iv: iv)
            state.keyStarted = clock.now
        }
    }

    /// Writes an unsealed frame (the hello, or a close reason before keys exist).
    func sendPlaintext(_ payload: [UInt8]) {
        state.withLockedValue { _ = enqueue(.frame(payload, allocator: channel.allocator), &$0) }
    }

    /// Seals (once keys exist) and writes `message`. Returns `false`, without sending, if the
    /// session has failed or its queue is full; a full queue disconnects it as a slow consumer.
    @discardableResult
    func send(_ message: ServerMessage) -> Bool {
        let closing: CloseReason? = if case .closing(let reason) = message { reason } else { nil }
        return send(OutboundPayload(message), closing: closing)
    }

    /// Seals and writes a message already encoded (an event encoded once for every member of a
    /// room). The same result as ``send(_:)``.
    @discardableResult
    func send(encoded payload: [UInt8]) -> Bool {
        send(.encoded(payload), closing: nil)
    }

    /// Seals and writes a response whose body stays where the service left it (see
    /// ``OutboundPayload/response(_:body:)``). Returns `false` as ``send(_:)`` does.
    @discardableResult
    func send(_ head: ResponseHead, body: ServiceBody) -> Bool {
        send(.response(head, body: body), closing: nil)
    }

    /// `send(_:)` for a payload; `closing` is set when it is the closing message.
    private func send(_ payload: OutboundPayload, closing: CloseReason?) -> Bool {
        state.withLockedValue { state in
            guard state.failure == nil else { return false }
            guard let sealer = state.sealer else {
                let sent = enqueue(payload.plaintextFrame(allocator: channel.allocator), &state)
                if sent, let closing { closingQueued(closing, &state) }
                return sent
            }
            // Whether this message finds the queue empty: then it fits whatever its size, even
            // behind a key update sent just before it.
            let fitsAlone = queuedBytes.load(ordering: .relaxed) == 0
            do {
                // Renew first if due, so the renewal never follows a closing message, and only
                // once the session is accepted (the protocol allows no key update before).
                if state.renewsKeys, closing == nil,
                    sealer.counter >= limits.rekeyAfterFrames || sealer.bytesSealed >= limits.rekeyAfterBytes
                        || state.keyStarted.duration(to: clock.now) >= limits.rekeyInterval
                {
                    try updateKeys(requestingReply: true, &state)
                    guard state.failure == nil else { return false }
                }
                let sent = try enqueueSealed(payload, sealer, &state, fitsAlone: fitsAlone)
                if sent, state.failure == nil, let closing { closingQueued(closing, &state) }
                return sent
            } catch {
                fail(CloseReason(.internalError, "the server could not seal a frame: \(error)"), &state)
                return false
            }
        }
    }

    /// Seals `payload` with `sealer` as one frame (the length prefix, then the ciphertext and tag
    /// written by the cipher straight into the buffer that goes to the channel: no intermediate
    /// array, no copy; a response or an event is encoded straight into that buffer and sealed where
    /// it lies) and queues it, counted as ``enqueue(_:_:fitsAlone:)`` counts.
    ///
    /// On a socket, frames queued before the event loop writes them share buffers: the frame goes
    /// at the end of the last pending buffer if it has room, so a member that gets many events
    /// between two turns of its event loop gets them in a few buffers, written in one go. A new
    /// buffer is twice the size of the last (up to 64 KiB), or the frame's size if nothing is
    /// pending, so a lone response costs what it did. A gateway's writer takes one frame per
    /// buffer.
    private func enqueueSealed(
        _ payload: OutboundPayload, _ sealer: RecordSealer, _ state: inout State, fitsAlone: Bool
    ) throws -> Bool {
        let payloadCount = payload.byteCount
        let size = OutboundPayload.sealedFrameByteCount(payload: payloadCount)
        guard admit(size, &state, fitsAlone: fitsAlone) else { return false }
        let last = state.pending.count - 1
        if case .socket = transport, last >= 0, state.pending[last].writableBytes >= size {
            try payload.writeSealedFrame(into: &state.pending[last], byteCount: payloadCount, sealer)
        } else {
            var capacity = size
            if case .socket = transport, last >= 0 {
                capacity = max(size, min(2 * state.pending[last].capacity, Self.largestSharedBuffer))
            }
            var buffer = channel.allocator.buffer(capacity: capacity)
            try payload.writeSealedFrame(into: &buffer, byteCount: payloadCount, sealer)
            state.pending.append(buffer)
        }
        queued(size, &state)
        return true
    }

    /// The largest buffer that frames share (see `enqueueSealed`).
    private static let largestSharedBuffer = 64 * 1024

    /// Nothing may follow a closing message, not even an event pushed a moment later; once it is
    /// written, the socket's sending side is shut down.
    private func closingQueued(_ reason: CloseReason, _ state: inout State) {
        state.failure = reason
        state.closingPending = true
    }

    /// The session is accepted: from now on the sending key is renewed automatically.
    func startRenewingKeys() {
        state.withLockedValue { $0.renewsKeys = true }
    }

    /// Ends the session from any thread (a timer, a shutdown): sends `reason` as the closing
    /// message; once it is written the socket's sending side is shut down (the peer reads the
    /// frame, then the end of the stream), and the channel closes when the peer closes its side,
    /// or after ``OutboundLimits/closeTimeout``. The connection's reader then ends and reports
    /// `reason` through ``failure``. Does nothing if the session has already failed or sent its
    /// closing message.
    ///
    /// Closing the channel at once instead would discard a closing frame the socket had not taken
    /// yet, and closing a socket with unread input makes the kernel send a reset, which can destroy
    /// the frame in the peer's receive buffer before the peer reads it.
    func close(_ reason: CloseReason) {
        guard send(.closing(reason)) else { return }
        closeAfterTimeout()
    }

    /// Closes the channel after ``OutboundLimits/closeTimeout`` unless the peer has closed it by
    /// then: the bound on how long a closing connection waits for its peer. The timer is
    /// cancelled when the channel closes (at once if it already has), so it holds nothing for a
    /// connection that is gone.
    func closeAfterTimeout() {
        let channel = self.channel
        let timeout = clock.schedule(at: clock.now.advanced(by: limits.closeTimeout), on: channel.eventLoop) {
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in timeout.cancel() }
    }

    /// Marks the session as ended: later sends (event pushes from services) are refused.
    func finish(_ reason: CloseReason) {
        state.withLockedValue { state in
            if state.failure == nil { state.failure = reason }
        }
    }

    /// Sends a key update for the sending direction and switches to the new key.
    func updateKeys(requestingReply: Bool) {
        state.withLockedValue { state in
            guard state.failure == nil, state.sealer != nil else { return }
            do {
                try updateKeys(requestingReply: requestingReply, &state)
            } catch {
                fail(CloseReason(.internalError, "the server could not update its keys: \(error)"), &state)
            }
        }
    }

    private func updateKeys(requestingReply: Bool, _ state: inout State) throws {
        guard let sealer = state.sealer else { return }
        let update = try KeyUpdate.random(requestsUpdate: requestingReply)
        guard try enqueueSealed(.encoded(ServerMessage.keyUpdate(update).encoded()), sealer, &state, fitsAlone: false)
        else {
            return
        }
        try sealer.apply(update)
        state.keyStarted = clock.now
    }

    /// Hands one frame (length prefix included) to the channel, counting its bytes until they
    /// are written to the socket.
    private func enqueue(_ frame: ByteBuffer, _ state: inout State, fitsAlone: Bool = false) -> Bool {
        let size = frame.readableBytes
        guard admit(size, &state, fitsAlone: fitsAlone) else { return false }
        state.pending.append(frame)
        queued(size, &state)
        return true
    }

    /// Counts `size` more bytes as not taken by the peer, or fails the session as a slow consumer
    /// (and counts nothing) if they do not fit.
    ///
    /// Only bytes count, and only until the socket takes them: how many frames are waiting says
    /// nothing about the peer (a burst of small frames waits for the event loop however fast the
    /// peer reads), while bytes the socket will not take are exactly what the peer has not read.
    private func admit(_ size: Int, _ state: inout State, fitsAlone: Bool) -> Bool {
        let bytes = queuedBytes.add(size, ordering: .relaxed).newValue
        // A frame that finds nothing waiting always fits, however large (up to the frame limit),
        // so a maximum-size response can be sent; the limit bounds what piles up behind it.
        guard bytes == size || fitsAlone || bytes <= limits.maximumQueuedBytes else {
            queuedBytes.subtract(size, ordering: .relaxed)
            fail(
                CloseReason(
                    .slowConsumer,
                    "slow consumer: \(bytes - size) bytes were still waiting for the client to take them"),
                &state)
            return false
        }
        return true
    }

    /// A frame of `size` bytes is pending: counts it as sent and makes sure the event loop will
    /// write it.
    private func queued(_ size: Int, _ state: inout State) {
        // One task on the event loop writes everything queued until it runs: a burst of frames
        // (a room's messages to a member, responses to pipelined requests) costs one hop to the
        // loop and one flush, not one of each per frame.
        counters.didSend(size)
        if !state.drainScheduled {
            state.drainScheduled = true
            channel.eventLoop.execute { self.drain() }
        }
    }

    /// On the event loop: writes the pending frames in order and flushes once. They stop counting
    /// against the limit when the last one has been written to the socket (or has failed, as
    /// every write does once the channel is closed); writes complete in order. A socket that
    /// takes everything completes them within the flush; one whose peer does not read keeps
    /// them counted until it does.
    private func drain() {
        let (frames, endsWithClosing) = state.withLockedValue { state in
            state.drainScheduled = false
            var frames: [ByteBuffer] = []
            swap(&frames, &state.pending)
            defer { state.closingPending = false }
            return (frames, state.closingPending)
        }
        guard let last = frames.last else { return }
        if case .gateway(let writer) = transport {
            drain(frames, through: writer, endsWithClosing: endsWithClosing)
            return
        }
        var bytes = 0
        for frame in frames.dropLast() {
            bytes += frame.readableBytes
            channel.write(frame, promise: nil)
        }
        bytes += last.readableBytes
        metrics.sentBytes.increment(by: bytes)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self, bytes] _ in
            self.queuedBytes.subtract(bytes, ordering: .relaxed)
            // The closing frame is in the socket: send FIN after it. The channel stays open for
            // reading until the peer closes its side (or the close timeout passes).
            if endsWithClosing { self.channel.close(mode: .output, promise: nil) }
        }
        channel.writeAndFlush(last, promise: promise)
    }

    /// The gateway's `drain()`: the same accounting, the gateway's writer instead of the socket.
    private func drain(_ frames: [ByteBuffer], through writer: any GatewayFrameWriter, endsWithClosing: Bool) {
        let bytes = frames.reduce(0) { $0 + $1.readableBytes }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self, bytes] _ in
            self.queuedBytes.subtract(bytes, ordering: .relaxed)
            if endsWithClosing, let reason = self.failure { writer.finish(after: reason) }
        }
        writer.write(frames, written: promise)
    }

    private func fail(_ reason: CloseReason, _ state: inout State) {
        guard state.failure == nil else { return }
        state.failure = reason
        channel.close(promise: nil)
    }
}

/// What a sealed frame carries: a message encoded already; a response or event encoded straight
/// into the frame's buffer and sealed where it lies; or a service's response, its head encoded
/// into the frame's buffer and its body sealed from where the service left it (not copied next to
/// its head first).
enum OutboundPayload {
    case encoded([UInt8])
    case inPlace(ServerMessage, byteCount: Int)
    case response(ResponseHead, body: ServiceBody)

    /// `message` in place when its encoding allows it, else encoded now.
    init(_ message: ServerMessage) {
        if let count = message.inPlaceByteCount {
            self = .inPlace(message, byteCount: count)
        } else {
            self = .encoded(message.encoded())
        }
    }

    /// The plaintext's size.
    var byteCount: Int {
        switch self {
        case .encoded(let bytes): bytes.count
        case .inPlace(_, let count): count
        case .response(let head, let body): head.encodedByteCount + body.count
        }
    }

    /// Writes the sealed record (ciphertext and tag) into `frame`, which holds exactly that.
    func seal(into frame: UnsafeMutableRawBufferPointer, _ sealer: RecordSealer) throws {
        switch self {
        case .encoded(let bytes):
            try bytes.withUnsafeBytes { try sealer.seal($0, into: frame) }
        case .inPlace(let message, let count):
            message.encode(into: UnsafeMutableRawBufferPointer(rebasing: frame.prefix(count)))
            try sealer.seal(inPlace: frame, plaintextCount: count)
        case .response(let head, let body):
            let headCount = head.encodedByteCount
            let plainHead = UnsafeMutableRawBufferPointer(rebasing: frame.prefix(headCount))
            try body.withUnsafeBytes { body in
                head.encode(bodyCount: body.count, into: plainHead)
                try sealer.seal(head: UnsafeRawBufferPointer(plainHead), body: body, into: frame)
            }
        }
    }

    /// The frame for a session without encryption.
    func plaintextFrame(allocator: ByteBufferAllocator) -> ByteBuffer {
        switch self {
        case .encoded(let bytes): .frame(bytes, allocator: allocator)
        case .inPlace(let message, _): .frame(message.encoded(), allocator: allocator)
        case .response(let head, let body): head.plaintextFrame(body: body, allocator: allocator)
        }
    }
}
