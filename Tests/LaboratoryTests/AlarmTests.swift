import NIOPosix
import Testing

@testable import Laboratory

/// The alarm the handshake watchdog sleeps on: it must wake at its deadline, at a ring (even one
/// that came first), and on cancellation, and never sleep through any of them.
@Suite("Alarm")
struct AlarmTests {
    let alarm = Alarm(eventLoop: MultiThreadedEventLoopGroup.singleton.next())

    @Test("wakes at its deadline, not before")
    func deadline() async {
        let start = ContinuousClock.now
        await alarm.wait(until: start.advanced(by: .milliseconds(100)))
        #expect(ContinuousClock.now - start >= .milliseconds(99))
    }

    @Test("a ring wakes a waiter long before its deadline")
    func ringWakes() async {
        let start = ContinuousClock.now
        async let waited: Void = alarm.wait(until: start.advanced(by: .seconds(60)))
        try? await Task.sleep(for: .milliseconds(50))
        alarm.ring()
        await waited
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test("a ring before the wait makes the next wait return at once, and only that one")
    func ringFirst() async {
        alarm.ring()
        let start = ContinuousClock.now
        await alarm.wait(until: start.advanced(by: .seconds(60)))
        #expect(ContinuousClock.now - start < .seconds(30))
        let second = ContinuousClock.now
        await alarm.wait(until: second.advanced(by: .milliseconds(100)))
        #expect(ContinuousClock.now - second >= .milliseconds(99), "the ring was used up")
    }

    @Test("cancelling the waiting task wakes it")
    func cancellation() async {
        let start = ContinuousClock.now
        let task = Task { await alarm.wait(until: start.advanced(by: .seconds(60))) }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await task.value
        #expect(ContinuousClock.now - start < .seconds(30))
    }
}
