@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Every deadline and timer of one connection but the closing flush's (``Outbound``'s), on the
/// server's clock (a ``TimerClock``): the
/// handshake's deadlines, keepalive pings, the idle timeout and the end of the shutdown grace
/// period. Each runs on the channel's event loop when it falls due (on the continuous clock, as
/// the event loop's own timer), so a pending one costs no suspended task.
///
/// The handshake's deadlines are whatever its state machine's `.setDeadline` actions say: each
/// replaces the one before, `nil` disarms it. When one passes, the connection asks the machine
/// what it means (``ServerHandshake/deadlineExpired()``); the machine, not the timer, decides.
///
/// A session timer that ends the session does it through ``Outbound/close(_:)``: the closing
/// message goes out, the channel closes, the connection's reader sees the end of its stream and
/// reports the reason ``Outbound/failure`` holds.
final class ConnectionTimers: Sendable {
    private struct State {
        var handshake: ScheduledTimer?
        var idle: ScheduledTimer?
        var grace: ScheduledTimer?
        var isAccepted = false
        var isShuttingDown = false
        var isFinished = false
    }

    private let outbound: Outbound
    private let clock: AnyTimerClock
    private let eventLoop: any EventLoop
    private let keepaliveInterval: Duration?
    private let idleTimeout: Duration?
    private let shutdownGracePeriod: Duration
    private let handshakeDeadlinePassed: @Sendable () -> Void
    private let state = NIOLockedValueBox(State())
    /// When the last frame arrived: nanoseconds of the clock since it was wrapped.
    private let lastInbound: Synchronization.Atomic<Int64>
    /// Whether a keepalive ping is waiting for any frame in return.
    private let keepalivePending = Atomic<Bool>(false)

    /// - Parameter handshakeDeadlinePassed: runs on the event loop when the handshake's current
    ///   deadline has passed.
    init(
        outbound: Outbound, clock: AnyTimerClock, keepaliveInterval: Duration?, idleTimeout: Duration?,
        shutdownGracePeriod: Duration, handshakeDeadlinePassed: @escaping @Sendable () -> Void
    ) {
        self.outbound = outbound
        self.clock = clock
        self.eventLoop = outbound.channel.eventLoop
        self.keepaliveInterval = keepaliveInterval
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.handshakeDeadlinePassed = handshakeDeadlinePassed
        self.lastInbound = Atomic(clock.now.offset.clampedNanoseconds)
    }

    /// The handshake's `.setDeadline` action: arms its deadline in place of the one before, or
    /// disarms it (`nil`, at acceptance).
    func setHandshakeDeadline(_ deadline: AnyTimerClock.Instant?) {
        guard let deadline else {
            cancel(\.handshake)
            return
        }
        schedule(\.handshake, at: deadline) { $0.handshakeDeadlinePassed() }
    }

    /// A frame arrived: the peer is alive.
    func frameReceived() {
        lastInbound.store(clock.now.offset.clampedNanoseconds, ordering: .relaxed)
        if keepalivePending.load(ordering: .relaxed) { keepalivePending.store(false, ordering: .relaxed) }
    }

    /// The handshake accepted the client: keepalive and the idle timeout start.
    func accepted() {
        let start = state.withLockedValue { state -> Bool in
            guard !state.isFinished, !state.isAccepted else { return false }
            state.isAccepted = true
            return true
        }
        guard start, let first = keepaliveInterval ?? idleTimeout else { return }
        schedule(\.idle, at: clock.now.advanced(by: first)) { $0.checkIdle() }
    }

    /// The server is shutting down: an unaccepted connection ends at once; an accepted one is told
    /// how long it has, and ends when that time is over.
    func shutDown() {
        let accepted = state.withLockedValue { state -> Bool? in
            guard !state.isFinished, !state.isShuttingDown else { return nil }
            state.isShuttingDown = true
            return state.isAccepted
        }
        switch accepted {
        case nil:
            return
        case false?:
            outbound.close(CloseReason(.serverStopping, "the server is shutting down"))
        case true?:
            let grace = shutdownGracePeriod
            outbound.send(.serverStopping(graceMilliseconds: UInt32(clamping: grace.wholeMilliseconds)))
            schedule(\.grace, at: clock.now.advanced(by: grace)) {
                $0.outbound.close(
                    CloseReason(.serverStopping, "the server is shutting down and the grace period is over"))
            }
        }
    }

    /// The connection has ended: every timer is cancelled and none is started again.
    func cancelAll() {
        let timers = state.withLockedValue { state in
            state.isFinished = true
            defer { (state.handshake, state.idle, state.grace) = (nil, nil, nil) }
            return [state.handshake, state.idle, state.grace]
        }
        for timer in timers { timer?.cancel() }
    }

    /// On the event loop: pings a peer that has been quiet for the keepalive interval, ends a
    /// session silent for the idle timeout, and schedules the next check.
    ///
    /// After a ping it checks again one keepalive interval later (or at the idle timeout, if that
    /// is sooner): a peer that answered has then been quiet since its answer, and is pinged again
    /// once that silence reaches the keepalive interval. So a ping follows every keepalive interval
    /// of silence, and a peer that answers every ping is never idle for long enough to be dropped.
    private func checkIdle() {
        let last = lastInbound.load(ordering: .relaxed)
        let now = clock.now
        let quiet = now.offset - .nanoseconds(last)
        if let idleTimeout, quiet >= idleTimeout {
            outbound.close(CloseReason(.idleTimeout, "nothing received for \(idleTimeout)"))
            return
        }
        guard let keepalive = keepaliveInterval else {
            // No keepalive: only the idle timeout, checked when it would next fall due.
            guard let idleTimeout else { return }
            schedule(\.idle, at: now.advanced(by: idleTimeout - quiet)) { $0.checkIdle() }
            return
        }
        var wake = keepalive - quiet
        if quiet >= keepalive {
            if !keepalivePending.load(ordering: .relaxed) {
                keepalivePending.store(true, ordering: .relaxed)
                outbound.send(.ping(UInt64(clamping: last)))
            }
            wake = keepalive
        }
        if let idleTimeout { wake = min(wake, idleTimeout - quiet) }
        schedule(\.idle, at: now.advanced(by: wake)) { $0.checkIdle() }
    }

    /// Arms `slot` at `deadline`, cancelling what it held; nothing once the connection has ended.
    private func schedule(
        _ slot: WritableKeyPath<State, ScheduledTimer?>, at deadline: AnyTimerClock.Instant,
        _ body: @escaping @Sendable (ConnectionTimers) -> Void
    ) {
        let timer = clock.schedule(at: deadline, on: eventLoop) { [self] in body(self) }
        let (keep, replaced) = state.withLockedValue { state -> (Bool, ScheduledTimer?) in
            guard !state.isFinished else { return (false, nil) }
            defer { state[keyPath: slot] = timer }
            return (true, state[keyPath: slot])
        }
        replaced?.cancel()
        if !keep { timer.cancel() }
    }

    private func cancel(_ slot: WritableKeyPath<State, ScheduledTimer?>) {
        let timer = state.withLockedValue { state in
            defer { state[keyPath: slot] = nil }
            return state[keyPath: slot]
        }
        timer?.cancel()
    }
}
