import Foundation
import LaboratoryClient
import LaboratoryProtocol
import NIOConcurrencyHelpers

/// Everything one chat member received in one room, in arrival order, across its sessions (a
/// member that reconnects keeps its recorder): the events, and how many of its sessions ended.
/// Waits are awaited, never slept: each arrival re-checks the waiting conditions.
final class RoomRecorder: Sendable {
    typealias Condition = @Sendable (_ events: [ChatEvent], _ sessionsEnded: Int) -> Bool

    private struct Waiter {
        let id: UUID
        let condition: Condition
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var events: [ChatEvent] = []
        var sessionsEnded = 0
        var waiters: [Waiter] = []

        mutating func resumeSatisfied() {
            let (events, ended) = (self.events, sessionsEnded)
            waiters.removeAll { waiter in
                guard waiter.condition(events, ended) else { return false }
                waiter.continuation.resume(returning: true)
                return true
            }
        }
    }

    let room: String
    private let state = NIOLockedValueBox(State())

    init(room: String) { self.room = room }

    /// Records the room's chat events from `session` until it ends.
    @discardableResult
    func follow(_ session: ClientSession) -> Task<Void, Never> {
        let room = self.room
        return Task { [state] in
            for await event in session.events {
                switch event {
                case .service(let serviceEvent):
                    guard let chat = ChatEvent(serviceEvent), chat.room == room else { continue }
                    state.withLockedValue {
                        $0.events.append(chat)
                        $0.resumeSatisfied()
                    }
                case .closed:
                    state.withLockedValue {
                        $0.sessionsEnded += 1
                        $0.resumeSatisfied()
                    }
                case .serverStopping:
                    continue
                }
            }
        }
    }

    /// Records the room's chat events from a `ReconnectingChatSession`'s updates until they end
    /// (one session however often it reconnects); passes every update to `observe` too.
    @discardableResult
    func follow(
        _ chat: ReconnectingChatSession, observe: @escaping @Sendable (ReconnectingChatSession.Update) async -> Void
    ) -> Task<Void, Never> {
        let room = self.room
        return Task { [state] in
            for await update in chat.updates {
                switch update {
                case .chat(let event) where event.room == room:
                    state.withLockedValue {
                        $0.events.append(event)
                        $0.resumeSatisfied()
                    }
                case .disconnected, .ended:
                    state.withLockedValue {
                        $0.sessionsEnded += 1
                        $0.resumeSatisfied()
                    }
                default:
                    break
                }
                await observe(update)
            }
        }
    }

    /// Every event so far, in arrival order.
    var events: [ChatEvent] { state.withLockedValue { $0.events } }

    /// The last sequence number received (0 before any): what a resuming `join` sends as `after`.
    var lastSequence: UInt64 { state.withLockedValue { $0.events.last?.sequence ?? 0 } }

    /// How many of the member's sessions have ended.
    var sessionsEnded: Int { state.withLockedValue { $0.sessionsEnded } }

    /// Waits until `condition` holds; `false` if the task is cancelled first (the test's time limit).
    @discardableResult
    func wait(until condition: @escaping Condition) async -> Bool {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLockedValue {
                    guard !Task.isCancelled else { return continuation.resume(returning: false) }
                    $0.waiters.append(Waiter(id: id, condition: condition, continuation: continuation))
                    $0.resumeSatisfied()
                }
            }
        } onCancel: {
            state.withLockedValue { state in
                state.waiters.removeAll { waiter in
                    guard waiter.id == id else { return false }
                    waiter.continuation.resume(returning: false)
                    return true
                }
            }
        }
    }

    /// Waits until the member has received the event numbered `sequence` or a later one.
    @discardableResult
    func wait(forSequence sequence: UInt64) async -> Bool {
        await wait { events, _ in (events.last?.sequence ?? 0) >= sequence }
    }
}
