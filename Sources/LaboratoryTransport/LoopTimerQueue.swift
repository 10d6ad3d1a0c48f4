import NIOCore
import Synchronization

/// The continuous clock's timers on one event loop (``TimerClock/schedule(at:on:_:)``), in a heap
/// of their own, with an event loop callback armed for the earliest of them.
///
/// NIO cancels a scheduled task by searching its loop's whole queue of them. A server keeps one
/// timer per idle session (keepalive and the idle timeout), so each cancelled deadline, several per
/// handshake and one per closed session, was a pass over every session on the loop. Here
/// cancelling removes the timer's entry from the heap in O(log n), and the loop's own queue holds
/// only the callbacks armed here: one for the earliest deadline, and any armed earlier for a
/// deadline since cancelled, which run and find nothing due. A callback is armed only when none is
/// pending at or before the deadline that needs it.
///
/// One queue per event loop, kept in ``queues`` while it has timers or a callback pending; it
/// leaves once a callback finds it empty with no other pending, or when the loop shuts down (NIO
/// then cancels the pending callbacks, and the queue drops its timers with what they hold). A
/// timer armed on a loop that has already shut down never runs, as NIO's own tasks never do there
/// (NIO prints an error), and stays with its queue.
package final class LoopTimerQueue: Sendable {
    /// One armed timer. Its fields are guarded by the queue's lock.
    final class Entry: @unchecked Sendable {
        let deadline: ContinuousClock.Instant
        /// The order of arming, which orders timers of the same deadline.
        let sequence: UInt64
        /// Where the entry is in the heap; -1 once it has fired or been cancelled.
        var index: Int
        var body: (@Sendable () -> Void)?

        init(deadline: ContinuousClock.Instant, sequence: UInt64, index: Int, body: @escaping @Sendable () -> Void) {
            self.deadline = deadline
            self.sequence = sequence
            self.index = index
            self.body = body
        }

        func isEarlier(than other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private struct State {
        var heap: [Entry] = []
        var nextSequence: UInt64 = 0
        /// The event loop callbacks armed and not yet run: their numbers and when they wake.
        var armed: [(number: UInt64, at: ContinuousClock.Instant)] = []
        var nextArmNumber: UInt64 = 0
        /// Set when the queue leaves ``LoopTimerQueue/queues``: arming goes to a new queue then.
        var isRetired = false

        /// Whether a callback is pending that wakes at or before `deadline`.
        func isCovered(_ deadline: ContinuousClock.Instant) -> Bool {
            armed.contains { $0.at <= deadline }
        }

        /// Records a callback to arm for `deadline`, and returns its number.
        mutating func recordArm(at deadline: ContinuousClock.Instant) -> UInt64 {
            let number = nextArmNumber
            nextArmNumber &+= 1
            armed.append((number, deadline))
            return number
        }
    }

    /// The event loop callback that runs what is due.
    private struct Callback: NIOScheduledCallbackHandler, Sendable {
        let queue: LoopTimerQueue
        let number: UInt64

        func handleScheduledCallback(eventLoop: some EventLoop) {
            queue.fire(number)
        }

        /// Only the loop's shutdown cancels one (nothing here does): its timers will never run.
        func didCancelScheduledCallback(eventLoop: some EventLoop) {
            queue.retire(dropping: true)
        }
    }

    private let eventLoop: any EventLoop
    private let key: ObjectIdentifier
    private let state = Mutex(State())

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.key = ObjectIdentifier(eventLoop)
    }

    /// Every event loop's queue that has timers, or a callback pending, by the loop.
    private static let queues = Mutex<[ObjectIdentifier: LoopTimerQueue]>([:])

    /// Runs `body` on `eventLoop` once the continuous clock has reached `deadline`, unless the
    /// returned timer is cancelled first.
    static func schedule(
        at deadline: ContinuousClock.Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void
    ) -> ScheduledTimer {
        let key = ObjectIdentifier(eventLoop)
        while true {
            let queue = queues.withLock { queues in
                if let queue = queues[key] { return queue }
                let queue = LoopTimerQueue(eventLoop: eventLoop)
                queues[key] = queue
                return queue
            }
            // A queue retired between the lookup and here has left `queues`: the next lookup
            // makes a new one.
            if let entry = queue.insert(deadline, body) {
                return ScheduledTimer { queue.cancel(entry) }
            }
        }
    }

    /// The number of timers waiting on `eventLoop` (for tests).
    package static func pendingCount(on eventLoop: any EventLoop) -> Int {
        let queue = queues.withLock { $0[ObjectIdentifier(eventLoop)] }
        return queue?.state.withLock { $0.heap.count } ?? 0
    }

    /// The event loop callbacks armed on `eventLoop` and not yet run (for tests).
    package static func armedCallbackCount(on eventLoop: any EventLoop) -> Int {
        let queue = queues.withLock { $0[ObjectIdentifier(eventLoop)] }
        return queue?.state.withLock { $0.armed.count } ?? 0
    }

    /// Whether `eventLoop` has a queue (for tests: it leaves once it is empty with no callback
    /// pending).
    package static func hasQueue(on eventLoop: any EventLoop) -> Bool {
        queues.withLock { $0[ObjectIdentifier(eventLoop)] != nil }
    }

    // MARK: Arming and cancelling (any thread)

    private func insert(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> Entry? {
        let (entry, arm) = state.withLock { state -> (Entry?, UInt64?) in
            guard !state.isRetired else { return (nil, nil) }
            let entry = Entry(deadline: deadline, sequence: state.nextSequence, index: state.heap.count, body: body)
            state.nextSequence &+= 1
            state.heap.append(entry)
            Self.siftUp(&state.heap, from: entry.index)
            guard !state.isCovered(deadline) else { return (entry, nil) }
            return (entry, state.recordArm(at: deadline))
        }
        if let arm { self.arm(arm, at: deadline) }
        return entry
    }

    private func cancel(_ entry: Entry) {
        // The body is released outside the lock: what it holds may run code when freed (a
        // deinit that cancels another timer).
        let body = state.withLock { state -> (@Sendable () -> Void)? in
            if entry.index >= 0 { Self.remove(&state.heap, at: entry.index) }
            defer { entry.body = nil }
            return entry.body
        }
        withExtendedLifetime(body) {}
    }

    /// Arms event loop callback `number` for `deadline`.
    private func arm(_ number: UInt64, at deadline: ContinuousClock.Instant) {
        let delay = ContinuousClock.now.duration(to: deadline)
        do {
            try eventLoop.scheduleCallback(
                in: .nanoseconds(max(0, delay.clampedNanoseconds)), handler: Callback(queue: self, number: number))
        } catch {
            // The loop cannot take it: as at its shutdown, its timers will never run.
            retire(dropping: true)
        }
    }

    // MARK: On the event loop

    /// Callback `number` has run: runs what is due, in deadline order, and arms another callback if
    /// none is pending for the earliest deadline left. The loop's clock may run a little ahead of
    /// the continuous clock: a timer not yet due by it waits for another callback.
    private func fire(_ number: UInt64) {
        let now = ContinuousClock.now
        var due: [@Sendable () -> Void] = []
        let (arm, retire) = state.withLock { state -> ((UInt64, ContinuousClock.Instant)?, Bool) in
            state.armed.removeAll { $0.number == number }
            while let first = state.heap.first, first.deadline <= now {
                Self.remove(&state.heap, at: 0)
                if let body = first.body { due.append(body) }
                first.body = nil
            }
            guard let first = state.heap.first else { return (nil, state.armed.isEmpty) }
            guard !state.isCovered(first.deadline) else { return (nil, false) }
            return ((state.recordArm(at: first.deadline), first.deadline), false)
        }
        if let (next, deadline) = arm { self.arm(next, at: deadline) }
        for body in due { body() }
        if retire { self.retire(dropping: false) }
    }

    /// Leaves ``queues`` if the queue is empty with no callback pending (`dropping` false), or at
    /// once, forgetting its timers (`dropping` true: the loop has shut down).
    private func retire(dropping: Bool) {
        let dropped = Self.queues.withLock { queues -> [(@Sendable () -> Void)?] in
            state.withLock { state -> [(@Sendable () -> Void)?] in
                guard dropping || (state.heap.isEmpty && state.armed.isEmpty) else { return [] }
                state.isRetired = true
                if queues[key] === self { queues[key] = nil }
                defer { state.heap = [] }
                return state.heap.map { entry in
                    entry.index = -1
                    defer { entry.body = nil }
                    return entry.body
                }
            }
        }
        // Released outside the locks, as in `cancel`.
        withExtendedLifetime(dropped) {}
    }

    // MARK: The heap (a binary min-heap; every entry knows its index)

    private static func siftUp(_ heap: inout [Entry], from start: Int) {
        var index = start
        let entry = heap[index]
        while index > 0 {
            let parent = (index - 1) / 2
            guard entry.isEarlier(than: heap[parent]) else { break }
            place(heap[parent], at: index, in: &heap)
            index = parent
        }
        place(entry, at: index, in: &heap)
    }

    private static func siftDown(_ heap: inout [Entry], from start: Int) {
        var index = start
        let entry = heap[index]
        let count = heap.count
        while true {
            var child = 2 * index + 1
            guard child < count else { break }
            if child + 1 < count, heap[child + 1].isEarlier(than: heap[child]) { child += 1 }
            guard heap[child].isEarlier(than: entry) else { break }
            place(heap[child], at: index, in: &heap)
            index = child
        }
        place(entry, at: index, in: &heap)
    }

    /// Puts `entry` at `index` and tells it where it is.
    private static func place(_ entry: Entry, at index: Int, in heap: inout [Entry]) {
        heap[index] = entry
        entry.index = index
    }

    /// Removes the entry at `index`, keeping the heap in order.
    private static func remove(_ heap: inout [Entry], at index: Int) {
        let removed = heap[index]
        removed.index = -1
        let last = heap.removeLast()
        guard index < heap.count else { return }
        place(last, at: index, in: &heap)
        if index > 0, last.isEarlier(than: heap[(index - 1) / 2]) {
            siftUp(&heap, from: index)
        } else {
            siftDown(&heap, from: index)
        }
    }
}
