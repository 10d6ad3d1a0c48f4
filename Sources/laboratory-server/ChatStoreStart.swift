import Laboratory
import LaboratoryPostgres
import LaboratoryProtocol
import Logging

/// What chat runs on in this server: in memory, or a PostgreSQL chat store (this server one of
/// its nodes), set up through the same public API an embedder uses.
struct ChatStoreStart {
    /// The PostgreSQL store (`nil`: chat in memory); a service that must outlive the server.
    let store: ChatStore?
    /// The registry with echo and chat on that store.
    let services: ServiceRegistry

    /// Connects to the chat store if one is configured: applies its migrations and registers
    /// this process as a node, whose number goes into `configuration` (connection ids become
    /// node-qualified). Then builds the services on it.
    ///
    /// - Throws: a one-line ``ExitReport`` with status 69 (EX_UNAVAILABLE) when the store cannot
    ///   be reached, refuses the login, or has no free node number.
    static func start(
        _ settings: ChatStoreSettings, configuration: inout ServerConfiguration, logger: Logger
    ) async throws -> ChatStoreStart {
        let limits = ChatLimits()
        var services = ServiceRegistry()
        services.register(EchoService(), as: EchoService.defaultName)
        guard let url = settings.url, let storeConfiguration = settings.configuration(limits: limits) else {
            services.register(ChatService(limits: limits), as: ChatService.defaultName)
            return ChatStoreStart(store: nil, services: services)
        }
        let shown = ChatStoreConfiguration.redacted(url.value)
        let store: ChatStore
        do {
            store = try await ChatStore.connectPostgres(configuration: storeConfiguration, logger: logger)
        } catch {
            throw ExitReport(
                .unavailable, "cannot start chat on \(shown) (\(url.source.subject(.chatStore))): \(error)")
        }
        configuration.nodeNumber = store.node
        // A resuming client is replayed up to `limits.storeReplayLimit` events (1,000).
        services.register(ChatService(limits: limits, store: store), as: ChatService.defaultName)
        say("Chat store \(shown): node \(store.node)")
        return ChatStoreStart(store: store, services: services)
    }
}
