import Histogram
import NIOCore
import Synchronization

/// Nanoseconds on the monotonic clock; shared by every connection in this process.
@inline(__always)
func monotonicNanoseconds() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

/// What a run is doing right now. Connections read it on every operation.
enum Phase: Int {
    /// Traffic flows but is not recorded.
    case warmup = 0
    /// Traffic flows and every completed operation is recorded.
    case measuring = 1
    /// No new operations start; those in flight finish.
    case stopping = 2
}

/// Shared switches and counters for one measurement. Written by the driver task, read by the
/// connections on their event loops.
final class RunControl: Sendable {
    private let phaseValue = Atomic<Int>(Phase.warmup.rawValue)
    /// Operations started and not finished; the driver waits for zero after `stopping`.
    let inFlight = Atomic<Int>(0)
    /// Failures seen by connections (closed early, error responses).
    let errors = Atomic<Int>(0)

    var phase: Phase { Phase(rawValue: phaseValue.load(ordering: .acquiring))! }
    func set(_ phase: Phase) { phaseValue.store(phase.rawValue, ordering: .releasing) }

    /// Waits until nothing is in flight, or until `timeout` passes. Returns whether it drained.
    func drain(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while inFlight.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}

/// Counters and a latency histogram owned by one event loop: only code running on that loop
/// touches them, so recording needs no lock.
final class LoopStats: @unchecked Sendable {
    var latencies = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    var operations = 0
    var bytes = 0
    /// Deliveries counted whatever the phase (fan-out's loss check).
    var deliveriesTotal = 0

    func reset() {
        latencies.reset()
        operations = 0
        bytes = 0
        deliveriesTotal = 0
    }

    /// Records one completed operation that took `nanoseconds`.
    @inline(__always)
    func record(nanoseconds: UInt64, bytes: Int = 0) {
        _ = latencies.record(max(1, nanoseconds / 1000))
        operations += 1
        self.bytes += bytes
    }
}

/// A snapshot of all loops' stats merged.
struct Collected {
    var latencies = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    var operations = 0
    var bytes = 0
    var deliveriesTotal = 0
}

/// One ``LoopStats`` per event loop of the generator's group.
final class StatsBoard: Sendable {
    private let byLoop: [ObjectIdentifier: LoopStats]
    private let loops: [any EventLoop]

    init(group: any EventLoopGroup) {
        var byLoop: [ObjectIdentifier: LoopStats] = [:]
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() {
            byLoop[ObjectIdentifier(loop)] = LoopStats()
            loops.append(loop)
        }
        self.byLoop = byLoop
        self.loops = loops
    }

    /// The stats of the loop `loop` (call on that loop only).
    func stats(for loop: any EventLoop) -> LoopStats { byLoop[ObjectIdentifier(loop)]! }

    /// Resets every loop's stats, on its own loop.
    func reset() async throws {
        for loop in loops {
            let stats = byLoop[ObjectIdentifier(loop)]!
            try await loop.submit { stats.reset() }.get()
        }
    }

    /// Merges every loop's stats, read on its own loop.
    func collect() async throws -> Collected {
        var result = Collected()
        for loop in loops {
            let stats = byLoop[ObjectIdentifier(loop)]!
            let (histogram, operations, bytes, total) = try await loop.submit {
                (stats.latencies, stats.operations, stats.bytes, stats.deliveriesTotal)
            }.get()
            result.latencies.add(histogram)
            result.operations += operations
            result.bytes += bytes
            result.deliveriesTotal += total
        }
        return result
    }
}
