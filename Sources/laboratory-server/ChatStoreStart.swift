import Laboratory
import LaboratoryPostgres
import LaboratoryProtocol
import Logging

/// What chat runs on in this server: in memory, or a PostgreSQL chat node.
struct ChatStoreStart {
    /// The PostgreSQL node (`nil`: chat in memory); a service that must outlive the server.
    let backplane: PostgresChatBackplane?
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
        guard let url = settings.url, let store = settings.configuration(limits: limits) else {
            services.register(ChatService(limits: limits), as: ChatService.defaultName)
            return ChatStoreStart(backplane: nil, services: services)
        }
        let shown = ChatStoreConfiguration.redacted(url.value)
        let backplane: PostgresChatBackplane
        do {
            backplane = try await PostgresChatBackplane.connect(configuration: store, logger: logger)
        } catch {
            throw ExitReport(
                .unavailable, "cannot start chat on \(shown) (\(url.source.subject(.chatStore))): \(error)")
        }
        configuration.nodeNumber = backplane.node
        // A client that resumes on another node after its own died (or after a restart) should
        // get everything it missed: replay up to 1,000 events (bounded in bytes by the room).
        var shared = limits
        shared.historySize = ChatStoreSettings.replayWindow
        services.register(ChatService(limits: shared, backplane: backplane), as: ChatService.defaultName)
        say("Chat store \(shown): node \(backplane.node)")
        return ChatStoreStart(backplane: backplane, services: services)
    }
}
