import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// A real server on port 0 for the length of a test, and real clients.
struct LiveBackend: Sendable {
    /// One key for every live test in the process: generating RSA keys is the slow part.
    private static let hostKey = try! RSAPrivateKey(bitCount: 2048)

    let port: Int
    let password: String

    static func run<T: Sendable>(_ services: ServiceRegistry, _ body: (LiveBackend) async throws -> T) async throws -> T
    {
        let password = Base64.encode(try SecureRandom.bytes(count: 18))
        var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
        configuration.port = 0
        configuration.serverName = "LaboratoryTesting"
        configuration.shutdownGracePeriod = .seconds(1)
        var logger = Logger(label: "laboratory.testing.server")
        logger.logLevel = .warning
        let server = LaboratoryServer(configuration: configuration, services: services, logger: logger)
        return try await withRunningServer(server, logger: logger) { port, _ in
            try await body(LiveBackend(port: port, password: password))
        }
    }

    func session(name: String) async throws -> TestSession {
        let client: ClientSession
        do {
            client = try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: password, name: name,
                trust: .pinned(fingerprint: Self.hostKey.publicKey.fingerprint))
        } catch let error as ClientError where error.code == .nameRejected {
            throw ServiceTestError(status: .rejected, message: error.nameRejection?.reason ?? error.message)
        }
        let (events, continuation) = AsyncStream<ServiceEvent>.makeStream()
        Task {
            for await event in client.events {
                if case .service(let serviceEvent) = event { continuation.yield(serviceEvent) }
            }
            continuation.finish()
        }
        return TestSession(backend: .live(client), connectionID: client.acceptance.connectionID, events: events)
    }
}
