@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// An accepted session's clocks, run as timers on its channel's event loop rather than as tasks:
/// keepalive pings, the idle timeout, and the end of the shutdown grace period. An idle session
/// therefore costs no suspended task for any of them. (The handshake's deadlines are enforced by
/// the connection's watchdog task, which cancels the read; it ends when the client is accepted.)
///
/// A timer that ends the session does it through ``Outbound/close(_:)``: the closing message goes
/// out, the channel closes, the connection's reader sees the end of its stream and reports the
/// reason ``Outbound/failure`` holds.
final class SessionTimers: Sendable {
    private struct State {
        var idle: Scheduled<Void>?
        var grace: Scheduled<Void>?
        var isAccepted = false
        var isShuttingDown = false
        var isFinished = false
    }

    private let outbound: Outbound
    private let eventLoop: any EventLoop
    private let keepaliveInterval: Duration?
    private let idleTimeout: Duration?
    private let shutdownGracePeriod: Duration
    private let state = NIOLockedValueBox(State())
    /// When the last frame arrived, in `NIODeadline` nanoseconds.
    private let lastInbound = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    /// Whether a keepalive ping is waiting for any frame in return.
    private let keepalivePending = Atomic<Bool>(false)

    init(outbound: Outbound, environment: ConnectionEnvironment) {
        self.outbound = outbound
        self.eventLoop = outbound.channel.eventLoop
        self.keepaliveInterval = environment.keepaliveInterval
        self.idleTimeout = environment.idleTimeout
        self.shutdownGracePeriod = environment.shutdownGracePeriod
    }

    /// A frame arrived: the peer is alive.
    func frameReceived() {
        lastInbound.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
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
        schedule(\.idle, in: first) { $0.checkIdle() }
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
            schedule(\.grace, in: grace) {
                $0.outbound.close(
                    CloseReason(.serverStopping, "the server is shutting down and the grace period is over"))
            }
        }
    }

    /// The connection has ended: every timer is cancelled and none is started again.
    func cancelAll() {
        let timers = state.withLockedValue { state in
            state.isFinished = true
            defer { (state.idle, state.grace) = (nil, nil) }
            return [state.idle, state.grace]
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
        let quiet = Duration.nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds &- last))
        if let idleTimeout, quiet >= idleTimeout {
            outbound.close(CloseReason(.idleTimeout, "nothing received for \(idleTimeout)"))
            return
        }
        guard let keepalive = keepaliveInterval else {
            // No keepalive: only the idle timeout, checked when it would next fall due.
            guard let idleTimeout else { return }
            schedule(\.idle, in: idleTimeout - quiet) { $0.checkIdle() }
            return
        }
        var wake = keepalive - quiet
        if quiet >= keepalive {
            if !keepalivePending.load(ordering: .relaxed) {
                keepalivePending.store(true, ordering: .relaxed)
                outbound.send(.ping(last))
            }
            wake = keepalive
        }
        if let idleTimeout { wake = min(wake, idleTimeout - quiet) }
        schedule(\.idle, in: wake) { $0.checkIdle() }
    }

    private func schedule(
        _ slot: WritableKeyPath<State, Scheduled<Void>?>, in delay: Duration,
        _ body: @escaping @Sendable (SessionTimers) -> Void
    ) {
        let scheduled = eventLoop.scheduleTask(in: TimeAmount(delay)) { [self] in body(self) }
        let keep = state.withLockedValue { state -> Bool in
            guard !state.isFinished else { return false }
            state[keyPath: slot] = scheduled
            return true
        }
        if !keep { scheduled.cancel() }
    }
}
