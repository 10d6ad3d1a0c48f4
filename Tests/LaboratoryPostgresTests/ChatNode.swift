import Laboratory
import LaboratoryPostgres
import LaboratoryTestSupport
import Logging
import ServiceLifecycle

/// A `PostgresChatBackplane` running as a node (its own service group) for a test: stopped
/// gracefully (``stop()``: it removes itself) or as if it died (``crash()``: cancelled, no
/// removal, no more heartbeats).
final class ChatNode: Sendable {
    let backplane: PostgresChatBackplane
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(backplane: PostgresChatBackplane, group: ServiceGroup, task: Task<Void, Never>) {
        self.backplane = backplane
        self.group = group
        self.task = task
    }

    static func start(_ configuration: ChatStoreConfiguration, label: String = "node") async throws -> ChatNode {
        let logger = Logger(label: "postgres-backplane-tests.\(label)")
        let backplane = try await PostgresChatBackplane.connect(configuration: configuration, logger: logger)
        let group = ServiceGroup(services: [backplane], logger: logger)
        let task = Task { _ = try? await group.run() }
        return ChatNode(backplane: backplane, group: group, task: task)
    }

    var node: UInt16 { backplane.node }

    func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }

    func crash() async {
        task.cancel()
        await task.value
    }
}

extension PostgresCluster {
    /// A backplane configuration for this cluster with test timings: quick reconnection,
    /// heartbeats and node timeout.
    func backplaneConfiguration(historySize: Int = 100) -> ChatStoreConfiguration {
        var configuration = storeConfiguration
        configuration.historySize = historySize
        configuration.reconnectDelay = .milliseconds(50)
        configuration.maximumReconnectDelay = .milliseconds(400)
        configuration.heartbeatInterval = .milliseconds(200)
        configuration.nodeTimeout = .seconds(2)
        configuration.callTimeout = .seconds(5)
        return configuration
    }
}

/// Runs `body` with `count` nodes on `configuration`'s database, stopping them gracefully after.
func withChatNodes<T>(
    _ count: Int, _ configuration: ChatStoreConfiguration, _ body: ([ChatNode]) async throws -> T
) async throws -> T {
    var nodes: [ChatNode] = []
    do {
        for index in 0..<count { nodes.append(try await ChatNode.start(configuration, label: "node\(index)")) }
        let result = try await body(nodes)
        for node in nodes { await node.stop() }
        return result
    } catch {
        for node in nodes { await node.stop() }
        throw error
    }
}
