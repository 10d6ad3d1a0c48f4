@_spi(Testing) import Laboratory
import LaboratoryClient
import LaboratoryTesting
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A change to the test server's configuration.
package struct Tweak {
    package let apply: (inout ServerConfiguration) -> Void

    package init(_ apply: @escaping (inout ServerConfiguration) -> Void) { self.apply = apply }
}

/// A real server on 127.0.0.1, port 0, run in a ServiceGroup for the length of a test.
package struct LiveServer {
    /// The identity key of every test server: ``TestKeys/identity``.
    package static var hostKey: RSAPrivateKey { TestKeys.identity }
    package static let password = "correct horse battery staple"

    package let server: LaboratoryServer
    package let group: ServiceGroup
    package let port: Int

    package var fingerprint: String { Self.hostKey.publicKey.fingerprint }

    /// Connects a client with the right password.
    package func connect(name: String = "ada", configuration: ClientConfiguration = ClientConfiguration())
        async throws -> ClientSession
    {
        try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: name,
            trust: .pinned(fingerprint: fingerprint),
            configuration: configuration)
    }

    /// A raw client that has finished the handshake with the right password.
    package func acceptedRawClient(name: String = "raw") async throws -> RawClient {
        var raw = try await RawClient.connect(port: port)
        _ = try await raw.handshake(name: name)
        return raw
    }

    /// Starts a server, runs `body`, then shuts the server down gracefully and waits for it.
    package static func with<T: Sendable>(
        _ tweak: Tweak = Tweak { _ in },
        services: ServiceRegistry = .standard,
        listeners: [any LaboratoryListener] = [],
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger? = nil,
        _ body: (LiveServer) async throws -> T
    ) async throws -> T {
        var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
        configuration.port = 0
        configuration.shutdownGracePeriod = .milliseconds(500)
        let pool = TestKeys.serverTransportKeys
        configuration.transportKeys.keySource = { pool.next() }
        tweak.apply(&configuration)
        let logger =
            logger
            ?? {
                var logger = Logger(label: "test.server")
                logger.logLevel = .warning
                return logger
            }()
        let server = LaboratoryServer(
            configuration: configuration, services: services, listeners: listeners, logger: logger,
            eventLoopGroup: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
        return try await withRunningServer(server, logger: logger) { port, group in
            try await body(LiveServer(server: server, group: group, port: port))
        }
    }
}
