import Laboratory
import Logging
import ServiceLifecycle

/// Runs `server` in a service group for the length of `body`, which gets its port and the group,
/// then shuts it down gracefully and waits for it, also when `body` throws. The kit's live mode and
/// this package's own live tests both start their servers this way.
package func withRunningServer<T: Sendable>(
    _ server: LaboratoryServer, logger: Logger, _ body: (_ port: Int, _ group: ServiceGroup) async throws -> T
) async throws -> T {
    let group = ServiceGroup(services: [server], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let address = try await server.listeningAddress()
            guard let port = address.port else { throw NotAnIPAddress(address: "\(address)") }
            let result = try await body(port, group)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// The server listens somewhere without a port (a Unix socket): the tests need TCP.
private struct NotAnIPAddress: Error {
    var address: String
}
