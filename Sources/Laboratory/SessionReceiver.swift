@_spi(Benchmarks) import LaboratoryProtocol
import Logging
import NIOCore

/// The receiving half of a connection: opens its frames (and asks the client to renew its key in
/// time), and, once the session is accepted, answers requests for immediate services on the
/// channel's event loop (``LaboratoryImmediateService``).
///
/// Its state is used by one thread at a time, handed over through ``InboundFrames``' lock: by the
/// connection's reader, except while that reader waits for a frame with no request in flight
/// (`next(servingImmediately:)`); then by the event loop, for the frames it reads until it hands
/// one to the reader. The reader takes a frame only from the event loop, so frames are opened
/// in order, and the reader has applied a frame (a key update, a rename) before the loop opens the
/// next. A reader whose wait is cancelled (its connection ending) may run on while the loop
/// finishes answering a frame it took before the cancellation: from then on the reader only
/// reads `identity` and closes, and touches neither the opener nor the renewal flag. Not
/// `Sendable` by its members: `@unchecked` on that protocol.
final class SessionReceiver: @unchecked Sendable {
    /// The client-to-server direction's record state, once keys exist.
    var opener: RecordOpener?
    /// Whether the server has asked the client to renew its key since the client last did.
    var hasRequestedClientRekey = false
    /// Set when the handshake accepts the client, and on a rename (the connection's own
    /// `identity`). Written only by the reader; the event loop reads it while it answers.
    var identity: SessionIdentity?

    private let outbound: Outbound
    private let timers: ConnectionTimers
    private let environment: ConnectionEnvironment
    /// What every request's context reuses, built at the session's first request: a session that
    /// never makes one (an idle session) keeps a pointer, not the sink and loggers.
    private var builtRequestContexts: RequestContexts?

    init(outbound: Outbound, timers: ConnectionTimers, environment: ConnectionEnvironment) {
        self.outbound = outbound
        self.timers = timers
        self.environment = environment
    }

    /// Counts a frame as received: keepalive, the session's byte counts and the metrics.
    func count(_ frame: ByteBuffer) {
        timers.frameReceived()
        outbound.counters.didReceive(Frame.headerByteCount + frame.readableBytes)
        environment.metrics.receivedBytes.increment(by: frame.readableBytes + Frame.headerByteCount)
    }

    /// Opens a sealed frame and asks the client to renew its key when it has used it long enough;
    /// a client that ignores the request past twice the limit is disconnected.
    func open(_ frame: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        // Without encryption the frame is a slice of the receive buffer: copied into a buffer of
        // its own, so that a request body a service holds keeps only its frame alive, not the
        // whole receive buffer (up to 128 KiB).
        guard let opener else { return allocator.buffer(buffer: frame) }
        // Read where it lies in the inbound buffer and opened into a buffer of its own, which a
        // request's body then stays in.
        let plaintext = try opener.open(frame, allocator: allocator)
        let limits = environment.outbound
        if !hasRequestedClientRekey
            && (opener.counter >= limits.rekeyAfterFrames || opener.bytesOpened >= limits.rekeyAfterBytes)
        {
            hasRequestedClientRekey = true
            outbound.updateKeys(requestingReply: true)
        }
        if opener.counter > 2 * limits.rekeyAfterFrames || opener.bytesOpened > 2 * limits.rekeyAfterBytes {
            throw ProtocolError(
                CloseReason(.keyExhausted, "the client kept its key past the limit without answering a key update"))
        }
        return plaintext
    }

    /// What the event loop did with a frame it read while the reader waited.
    enum ImmediateOutcome {
        /// Answered: the response is queued; the reader goes on waiting.
        case served
        /// For the reader: everything but a request for an immediate service (or an unknown one).
        case deliver(InboundFrame)
        /// The frame ends the connection (it did not open, or did not decode): the reader gets
        /// the error, as if it had opened the frame itself.
        case failed(any Error)
    }

    /// On the event loop, while the accepted session's reader waits with no request in flight:
    /// opens `frame` and, if it is a request for an immediate service, answers it here, as the
    /// reader would have (the same response, metrics and byte counts); otherwise hands it on,
    /// opened. A session that is ending gets the frame as read, for the reader to end it.
    func serveImmediately(_ frame: ByteBuffer) -> ImmediateOutcome {
        guard let identity, outbound.failure == nil else { return .deliver(.sealed(frame)) }
        count(frame)
        do {
            let plaintext = try open(frame, allocator: outbound.channel.allocator)
            guard let request = try plaintext.withUnsafeReadableBytes({ try RequestHead.decode($0) }) else {
                return .deliver(.opened(plaintext))
            }
            let started = ContinuousClock.now
            let body = plaintext.getSlice(
                at: plaintext.readerIndex + request.body.lowerBound, length: request.body.count)!
            let context = requestContexts(for: identity).context(for: request.head.service, session: identity)
            guard
                let (head, answer) = environment.registry.respondImmediately(
                    to: request.head, body: body, context: context)
            else {
                return .deliver(.opened(plaintext))
            }
            environment.metrics.requestAnswered(
                service: request.head.service, status: head.status, after: .now - started)
            outbound.send(head, body: answer)
            return .served
        } catch {
            return .failed(error)
        }
    }

    /// The contexts of this session's requests, whoever serves them: the event loop here, or the
    /// connection's request tasks. A request task counts as in flight until it has sent its
    /// response, and the loop answers only while none is, so the two never use this at once (see
    /// the type's note on who uses its state when).
    func requestContexts(for identity: SessionIdentity) -> RequestContexts {
        if let builtRequestContexts { return builtRequestContexts }
        let built = RequestContexts(identity: identity, outbound: outbound, environment: environment)
        builtRequestContexts = built
        return built
    }
}
