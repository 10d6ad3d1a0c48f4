import LaboratoryTransport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Gives memory freed by ended connections back to the system after a burst of them.
///
/// glibc's allocator returns only the top of each heap to the system by itself; memory freed in
/// the middle of its per-thread arenas stays resident. After a flood of connections (an attack,
/// or a crowd of clients that reconnects at once) that can leave the process tens of megabytes
/// larger than before. Every ``interval`` this checks how many connections have ended: after 64
/// or more, or after a quiet interval that followed any, it calls `malloc_trim(0)`, which walks
/// the arenas and releases their free pages. Elsewhere it does nothing.
final class MemoryReclaimer: Sendable {
    /// How often the count is checked.
    static let interval = Duration.seconds(10)
    /// Ended connections that make a trim worthwhile even while more keep ending.
    static let burst = 64

    private let ended = Atomic<Int>(0)
    /// The server's clock, which ``run()`` waits on.
    private let clock: AnyTimerClock

    init(clock: AnyTimerClock) {
        self.clock = clock
    }

    /// A connection has ended.
    func connectionEnded() { ended.add(1, ordering: .relaxed) }

    /// Checks every ``interval`` until cancelled.
    func run() async {
        var pending = 0
        while (try? await clock.sleep(for: Self.interval)) != nil {
            let recent = ended.exchange(0, ordering: .relaxed)
            pending += recent
            if pending >= Self.burst || (pending > 0 && recent == 0) {
                pending = 0
                Self.trim()
            }
        }
    }

    /// Returns free heap pages to the system, where the allocator can.
    static func trim() {
        mallocTrim?(0)
    }

    /// glibc's `malloc_trim`, looked up at run time: `<malloc.h>` is not part of the Glibc module,
    /// and other C libraries (musl) do not have it.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()
}
