import Laboratory
import LaboratoryClient
import Logging
import ServiceLifecycle

/// Where a service test runs.
public enum ServiceTestMode: Sendable, CaseIterable {
    /// Calls the registry directly: no socket, no handshake, no encryption. Fast and exact.
    case inMemory
    /// Runs a real server on 127.0.0.1 port 0 and connects real clients: real handshake, real
    /// sockets, real encryption.
    case live
}

/// A request that did not succeed, the same in both modes.
public struct ServiceTestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The response status (`serviceError` for a `ServiceError` the service threw).
    public var status: ResponseStatus
    /// The message the client would see.
    public var message: String

    public var description: String { "\(status): \(message)" }
}

/// Runs `body` with a client of `services`, in memory or against a live server.
///
/// ```swift
/// try await withServiceTest(registry, mode: .inMemory) { client in
///     let ada = try await client.session(name: "ada")
///     #expect(try await ada.request("echo", Array("hi".utf8)) == Array("hi".utf8))
/// }
/// ```
/// Change `.inMemory` to `.live` and the same test runs over TCP. Sessions still open at the end
/// are disconnected; in live mode the server is then shut down gracefully.
public func withServiceTest<T: Sendable>(
    _ services: ServiceRegistry, mode: ServiceTestMode = .inMemory,
    _ body: (ServiceTestClient) async throws -> T
) async throws -> T {
    switch mode {
    case .inMemory:
        let client = ServiceTestClient(backend: .inMemory(InMemoryBackend(registry: services)))
        let result = try await body(client)
        await client.disconnectAll()
        return result
    case .live:
        return try await LiveBackend.run(services) { backend in
            let client = ServiceTestClient(backend: .live(backend))
            let result = try await body(client)
            await client.disconnectAll()
            return result
        }
    }
}

/// Makes sessions for a service test.
public final class ServiceTestClient: Sendable {
    enum Backend {
        case inMemory(InMemoryBackend)
        case live(LiveBackend)
    }

    private let backend: Backend
    private let opened = Opened()

    init(backend: Backend) { self.backend = backend }

    /// Opens a session with this display name (validated as at a real handshake).
    public func session(name: String) async throws -> TestSession {
        let session: TestSession
        switch backend {
        case .inMemory(let memory): session = try await memory.session(name: name)
        case .live(let live): session = try await live.session(name: name)
        }
        await opened.add(session)
        return session
    }

    func disconnectAll() async {
        for session in await opened.all { await session.disconnect() }
    }
}

private actor Opened {
    var all: [TestSession] = []
    func add(_ session: TestSession) { all.append(session) }
}
