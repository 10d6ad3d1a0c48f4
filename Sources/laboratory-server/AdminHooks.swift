import LaboratoryProtocol
import ServiceLifecycle
import Synchronization

/// The admin API's drain and reload, for a service group and a reloader that exist only after the
/// HTTP listener is made: attach each once it is. ``drain()`` starts the group's graceful shutdown
/// (what SIGTERM does); ``reload()`` is what SIGHUP does.
final class AdminHooks: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    private let reloader = Mutex<ConfigurationReloader?>(nil)

    func attach(_ group: ServiceGroup) { self.group.withLock { $0 = group } }

    func attach(_ reloader: ConfigurationReloader) { self.reloader.withLock { $0 = reloader } }

    func drain() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// Rereads the configuration; throws its one-line reason if it was refused (the configuration
    /// in force then stays).
    func reload() async throws {
        guard let reloader = reloader.withLock({ $0 }) else { throw ReloadRefused(message: "the server is starting") }
        do {
            try await reloader.reload()
        } catch {
            throw ReloadRefused(message: error.message)
        }
    }

    /// Why a reload through the admin API was refused, in the words SIGHUP's refusal logs.
    struct ReloadRefused: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
