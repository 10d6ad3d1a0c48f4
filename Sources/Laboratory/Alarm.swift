import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore

/// Wakes one waiting task at a deadline, on an event loop's timer, or earlier when rung.
///
/// The handshake watchdog sleeps on it rather than on `Task.sleep`, so that acceptance can end
/// the watchdog at once (the session then keeps no task for it). A ring while nobody waits makes
/// the next wait return at once; waiters re-check their condition, so an early wake is harmless.
final class Alarm: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var timer: Scheduled<Void>?
        var rung = false
    }

    private let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Returns at `deadline`, when ``ring()`` is called, or when the task is cancelled.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let timer = eventLoop.scheduleTask(deadline: NIODeadline(deadline)) { [self] in ring() }
                let resumeNow = state.withLockedValue { state in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    state.timer = timer
                    return false
                }
                if resumeNow {
                    timer.cancel()
                    continuation.resume()
                }
            }
        } onCancel: {
            ring()
        }
    }

    /// Wakes the waiting task now, or the next one to wait.
    func ring() {
        let (waiter, timer) = state.withLockedValue { state in
            guard let waiter = state.waiter else {
                state.rung = true
                return (CheckedContinuation<Void, Never>?.none, Scheduled<Void>?.none)
            }
            defer { (state.waiter, state.timer) = (nil, nil) }
            return (waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }
}
