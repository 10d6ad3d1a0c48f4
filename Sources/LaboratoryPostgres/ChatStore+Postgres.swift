import Laboratory
import Logging

extension ChatStore {
    /// Connects to the PostgreSQL database `configuration` names and returns it as a chat store:
    /// applies the store's migrations the database lacks (under a lock, so servers starting
    /// together apply them once), drops the servers that stopped heartbeating, and registers this
    /// server under the lowest free node number (`ChatStore.node`). Run the store next (see
    /// `ChatStore`); every server given the same database shares its chat.
    ///
    /// ```swift
    /// let store = try await ChatStore.connectPostgres(
    ///     configuration: try ChatStoreConfiguration(url: "postgres://chat@db.example/chat"))
    /// ```
    ///
    /// - Throws: ``ChatStoreError`` when the database cannot be reached or refuses (at once: one
    ///   connection attempt, no retries), or every node number is taken.
    public static func connectPostgres(
        configuration: ChatStoreConfiguration, logger: Logger = Logger(label: "laboratory.chat-store")
    ) async throws -> ChatStore {
        let backplane = try await PostgresChatBackplane.connect(configuration: configuration, logger: logger)
        return ChatStore(node: backplane.node, backplane: backplane) { beforeLeaving in
            await backplane.run(beforeRemoving: beforeLeaving)
        }
    }
}
