import ServiceLifecycle
import Synchronization

/// The admin API's drain, for a service group that exists only after the HTTP listener is made:
/// set the group once it is, and ``drain()`` starts its graceful shutdown (what SIGTERM does).
final class DrainTrigger: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)

    func attach(_ group: ServiceGroup) { self.group.withLock { $0 = group } }

    func drain() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }
}
