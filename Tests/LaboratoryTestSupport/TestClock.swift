import Synchronization

/// A clock that only moves when a test calls ``advance(by:)``: what every deadline and timer test
/// runs on, so that it advances the clock and observes the result instead of sleeping.
///
/// Sleepers and wake-ups registered with ``whenReaching(_:_:)`` run once the clock reaches their
/// deadline, in deadline order, on the thread that advanced it; one whose deadline has already
/// passed runs at once. Nothing here waits in real time. (This file uses the standard library
/// alone: the fuzzer compiles it too.)
package final class TestClock: Clock, Sendable {
    package typealias Duration = Swift.Duration

    package struct Instant: InstantProtocol, CustomStringConvertible {
        /// Time since the clock was created.
        package var offset: Swift.Duration

        package init(offset: Swift.Duration) { self.offset = offset }
        package func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        package func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        package var description: String { "t+\(offset)" }
    }

    private struct Wakeup {
        let id: UInt64
        let deadline: Instant
        let run: @Sendable () -> Void
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID: UInt64 = 0
        var wakeups: [Wakeup] = []
        /// Sleepers cancelled before they were registered.
        var cancelled: Set<UInt64> = []
        /// How many wake-ups have ever been registered at each instant.
        var armed: [Instant: Int] = [:]
        /// Tests waiting for a number of wake-ups (at one instant, or at any).
        var watchers: [Watcher] = []

        func satisfies(_ watcher: Watcher) -> Bool {
            switch watcher.kind {
            case .pending(let deadline?):
                wakeups.count { $0.deadline == deadline } >= watcher.count
            case .pending(nil):
                wakeups.count >= watcher.count
            case .armed(let deadline):
                armed[deadline, default: 0] >= watcher.count
            }
        }
    }

    private struct Watcher {
        enum Kind {
            /// Wake-ups waiting, at this instant or at any.
            case pending(Instant?)
            /// Wake-ups ever registered at this instant.
            case armed(Instant)
        }

        let kind: Kind
        let count: Int
        let waiter: CheckedContinuation<Void, Never>
    }

    private let state = Mutex(State())

    package init() {}

    package var now: Instant { state.withLock { $0.now } }

    package var minimumResolution: Swift.Duration { .nanoseconds(1) }

    /// How many sleepers and wake-ups are waiting for the clock.
    package var pendingCount: Int { state.withLock { $0.wakeups.count } }

    /// Moves the clock forward and runs every wake-up that falls due, in deadline order.
    package func advance(by duration: Swift.Duration) {
        precondition(duration >= .zero, "a clock does not go backwards")
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.wakeups.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.wakeups.removeAll { $0.deadline <= now }
            return due
        }
        for wakeup in due { wakeup.run() }
    }

    /// Runs `action` once the clock reaches `deadline` (at once, here, if it already has).
    /// Returns an id for ``cancel(_:)``.
    @discardableResult
    package func whenReaching(_ deadline: Instant, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        register(id: makeID(), deadline: deadline, action)
    }

    /// Drops a wake-up that has not run yet. Returns whether it was still waiting.
    @discardableResult
    package func cancel(_ id: UInt64) -> Bool {
        state.withLock { state in
            guard let index = state.wakeups.firstIndex(where: { $0.id == id }) else {
                state.cancelled.insert(id)
                return false
            }
            state.wakeups.remove(at: index)
            return true
        }
    }

    /// Returns once at least `count` sleepers and wake-ups are waiting, all of them at `deadline`
    /// if it is given: a test calls it before advancing past a deadline that another task arms
    /// (otherwise the deadline could be armed after the advance, counted from the later time), or
    /// to know that something has happened that arms one (a wrong password starts its delay).
    package func waitForPending(count: Int = 1, at deadline: Instant? = nil) async {
        await wait(for: .pending(deadline), count: count)
    }

    /// How many wake-ups have ever been registered at `deadline`, fired and cancelled ones
    /// included: with ``waitForArmed(count:at:)``, how a test learns that something armed a
    /// deadline again at the same instant (a step that keeps the deadline of the one before).
    package func armedCount(at deadline: Instant) -> Int {
        state.withLock { $0.armed[deadline, default: 0] }
    }

    /// Returns once `count` wake-ups in all have been registered at `deadline`.
    package func waitForArmed(count: Int, at deadline: Instant) async {
        await wait(for: .armed(deadline), count: count)
    }

    private func wait(for kind: Watcher.Kind, count: Int) async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let watcher = Watcher(kind: kind, count: count, waiter: waiter)
            let ready = state.withLock { state in
                guard !state.satisfies(watcher) else { return true }
                state.watchers.append(watcher)
                return false
            }
            if ready { waiter.resume() }
        }
    }

    package func sleep(until deadline: Instant, tolerance: Swift.Duration? = nil) async throws {
        let id = makeID()
        // The sleeper's continuation, and whether the task was cancelled before it was stored.
        let sleeper = Mutex<(waiter: CheckedContinuation<Void, any Error>?, isCancelled: Bool)>((nil, false))
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelledAlready = sleeper.withLock { sleeper in
                    if !sleeper.isCancelled { sleeper.waiter = continuation }
                    return sleeper.isCancelled
                }
                if cancelledAlready {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                register(id: id, deadline: deadline) {
                    sleeper.withLock { $0.waiter.take() }?.resume()
                }
            }
        } onCancel: {
            let waiter = sleeper.withLock { sleeper in
                sleeper.isCancelled = true
                return sleeper.waiter.take()
            }
            cancel(id)
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func makeID() -> UInt64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    @discardableResult
    private func register(id: UInt64, deadline: Instant, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let (runNow, ready) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            if state.cancelled.remove(id) != nil { return (false, []) }
            state.armed[deadline, default: 0] += 1
            let runNow = deadline <= state.now
            if !runNow { state.wakeups.append(Wakeup(id: id, deadline: deadline, run: action)) }
            var ready: [CheckedContinuation<Void, Never>] = []
            var waiting: [Watcher] = []
            for watcher in state.watchers {
                if state.satisfies(watcher) {
                    ready.append(watcher.waiter)
                } else {
                    waiting.append(watcher)
                }
            }
            state.watchers = waiting
            return (runNow, ready)
        }
        for waiter in ready { waiter.resume() }
        if runNow { action() }
        return id
    }
}
