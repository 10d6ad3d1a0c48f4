import NIOConcurrencyHelpers
import Testing

@testable import Laboratory

/// The line that keeps one session's chat requests in the order they arrived.
@Suite("Chat session order", .timeLimit(.minutes(1)))
struct ChatSessionOrderTests {
    @Test("requests run in the order they entered, even when later ones are ready first")
    func entryOrder() async {
        let order = ChatSessionOrder()
        let places = (0..<20).map { _ in order.enter(7) }
        #expect(places == Array(0..<20))
        let ran = NIOLockedValueBox<[UInt64]>([])
        await withTaskGroup(of: Void.self) { group in
            // Started last-first: each waits for its turn.
            for place in places.reversed() {
                group.addTask {
                    await order.waitForTurn(7, place: place)
                    ran.withLockedValue { $0.append(place) }
                    order.leave(7)
                }
            }
        }
        #expect(ran.withLockedValue { $0 } == places)
    }

    @Test("sessions do not wait for each other, and a finished line is forgotten")
    func sessionsIndependent() async {
        let order = ChatSessionOrder()
        let first = order.enter(1)
        // Session 2 runs while session 1's request is still in progress.
        let other = order.enter(2)
        await order.waitForTurn(2, place: other)
        order.leave(2)
        await order.waitForTurn(1, place: first)
        order.leave(1)
        // Both lines ended: places start again from 0.
        #expect(order.enter(1) == 0 && order.enter(2) == 0)
    }
}
