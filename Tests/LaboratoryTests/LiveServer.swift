@_spi(Testing) import Laboratory
import LaboratoryClient
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A change to the test server's configuration.
struct Tweak {
    let apply: (inout ServerConfiguration) -> Void

    init(_ apply: @escaping (inout ServerConfiguration) -> Void) { self.apply = apply }
}

/// A real server on 127.0.0.1, port 0, run in a ServiceGroup for the length of a test.
struct LiveServer {
    static let hostKey = try! RSAPrivateKey(bitCount: 2048)
    /// Transport keys for every test server, generated once: dozens of servers each generating
    /// their own would make key generation most of the run on a small machine.
    static let transportKeyPool = TransportKeyPool(count: 4)
    static let password = "correct horse battery staple"

    let server: LaboratoryServer
    let group: ServiceGroup
    let port: Int

    var fingerprint: String { Self.hostKey.publicKey.fingerprint }

    /// Connects a client with the right password.
    func connect(name: String = "ada", configuration: ClientConfiguration = ClientConfiguration())
        async throws -> ClientSession
    {
        try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: name,
            trust: .pinned(fingerprint: fingerprint),
            configuration: configuration)
    }

    /// Starts a server, runs `body`, then shuts the server down gracefully and waits for it.
    static func with<T: Sendable>(
        _ tweak: Tweak = Tweak { _ in },
        services: ServiceRegistry = .standard,
        listeners: [any LaboratoryListener] = [],
        eventLoopGroup: (any EventLoopGroup)? = nil,
        _ body: (LiveServer) async throws -> T
    ) async throws -> T {
        var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
        configuration.port = 0
        configuration.shutdownGracePeriod = .milliseconds(500)
        let pool = transportKeyPool
        configuration.transportKeys.keySource = { pool.next() }
        tweak.apply(&configuration)
        var logger = Logger(label: "test.server")
        logger.logLevel = .warning
        let server = LaboratoryServer(
            configuration: configuration, services: services, listeners: listeners, logger: logger,
            eventLoopGroup: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
        let group = ServiceGroup(services: [server], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try await server.listeningAddress()
            let live = LiveServer(server: server, group: group, port: address.port!)
            do {
                let result = try await body(live)
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
}

/// A few pre-generated RSA keys handed out in turn.
final class TransportKeyPool: Sendable {
    private let keys: [RSAPrivateKey]
    private let counter = Atomic<Int>(0)

    init(count: Int) {
        keys = (0..<count).map { _ in try! RSAPrivateKey(bitCount: 2048) }
    }

    func next() -> RSAPrivateKey {
        keys[counter.wrappingAdd(1, ordering: .relaxed).oldValue % keys.count]
    }
}
