import Foundation
import LaboratoryClient
import LaboratoryTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One `laboratory-server` process using a PostgreSQL chat store (`--chat-store postgres://…`):
/// a node of a multi-node chat, as an operator runs it.
final class ChatNode: Sendable {
    static let password = "multi-node chat test password"

    let name: String
    let server: ServerProcess
    let port: Int
    let fingerprint: String

    private init(name: String, server: ServerProcess, port: Int, fingerprint: String) {
        self.name = name
        self.server = server
        self.port = port
        self.fingerprint = fingerprint
    }

    /// The store's address for `cluster`: its superuser over TCP, no password (`trust`).
    static func storeURL(_ cluster: PostgresCluster) -> String {
        "postgres://\(cluster.username)@\(cluster.host):\(cluster.port)/\(cluster.database)"
    }

    /// Starts a node on `cluster`'s database and waits until it listens. `stateDirectory` keeps
    /// its host key across a restart (the clients pin it).
    static func start(
        _ name: String, cluster: PostgresCluster, stateDirectory: String? = nil, arguments: [String] = []
    ) async throws -> ChatNode {
        let server = try ServerProcess(
            arguments: ["--chat-store", storeURL(cluster), "--log-level", "info"] + arguments,
            environment: ["LABORATORY_PASSWORD": password], stateDirectory: stateDirectory)
        guard let fingerprint = await server.value(after: "Host key fingerprint: "),
            let port = await server.value(after: "Listening on 127.0.0.1:").flatMap({ Int($0) })
        else {
            server.send(SIGKILL)
            let exit = await server.waitForExit()
            throw ChatNodeError(description: "node \(name) did not start (status \(exit.status)):\n\(exit.stderr)")
        }
        return ChatNode(name: name, server: server, port: port, fingerprint: fingerprint)
    }

    /// A new accepted session on this node.
    func connect(_ displayName: String) async throws -> ClientSession {
        try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: displayName,
            trust: .pinned(fingerprint: fingerprint))
    }

    /// `kill -9`: the process ends at once, closing nothing and telling no one.
    func kill9() async {
        server.send(SIGKILL)
        _ = await server.waitForExit()
    }

    /// SIGTERM, then waits for the exit; returns the status and standard error.
    func stop() async -> (status: Int32, stderr: String) {
        server.send(SIGTERM)
        return await server.waitForExit()
    }

    var isRunning: Bool { server.child.process.isRunning }

    /// SIGKILL, not the child's SIGTERM: a node whose database is already gone (the cluster is
    /// removed when a test ends) may wait on it while shutting down, and outlive the test.
    deinit {
        if isRunning { server.send(SIGKILL) }
    }
}

struct ChatNodeError: Error, CustomStringConvertible {
    var description: String
}
