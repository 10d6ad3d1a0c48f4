// swift-tools-version:6.2
import PackageDescription

// What the live tests and their support target build on: every module of this package and the
// products they use, named once.
let liveTestDependencies: [Target.Dependency] = [
    "Laboratory", "LaboratoryClient", "LaboratoryLegacy", "LaboratoryHTTP", "LaboratoryProtocol", "LaboratoryTransport",
    "LaboratoryCrypto", "LaboratoryTesting",
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
]

let package = Package(
    name: "Laboratory",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Laboratory", targets: ["Laboratory"]),
        .library(name: "LaboratoryClient", targets: ["LaboratoryClient"]),
        .library(name: "LaboratoryTesting", targets: ["LaboratoryTesting"]),
        .library(name: "LaboratoryLegacy", targets: ["LaboratoryLegacy"]),
        // The optional HTTP face (Hummingbird): health, metrics, admin API, WebSocket gateway.
        .library(name: "LaboratoryHTTP", targets: ["LaboratoryHTTP"]),
        // The optional PostgreSQL chat store (postgres-nio): durable history, per-room sequence numbers.
        .library(name: "LaboratoryPostgres", targets: ["LaboratoryPostgres"]),
        // Not for users: no public API of its own (the few user-facing types are re-exported by the
        // products above); the rest is `package`, or `@_spi(Benchmarks) public` for this
        // repository's Benchmarks package, the only reason this product exists.
        .library(name: "_LaboratoryInternals", targets: ["LaboratoryProtocol", "LaboratoryCrypto"]),
        .executable(name: "laboratory-server", targets: ["laboratory-server"]),
        .executable(name: "laboratory", targets: ["laboratory-client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // LaboratoryHTTP only: an embedder who imports Laboratory alone does not build these.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // laboratory-server's configuration: flags, `LABORATORY_…` variables and a JSON or YAML file.
        .package(
            url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        // Already swift-configuration's YAML parser; laboratory-server lists a file's keys with it,
        // to refuse a misspelt setting instead of ignoring it.
        .package(url: "https://github.com/jpsim/Yams", "5.4.0"..<"7.0.0"),
        // LaboratoryPostgres only: an embedder who imports Laboratory alone does not build it.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // `swift package generate-documentation` (scripts/docs): the DocC catalogs and symbol docs.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The system's OpenSSL. Only LaboratoryCrypto may import it.
        .systemLibrary(
            name: "CLaboratorySSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "LaboratoryCrypto", dependencies: ["CLaboratorySSL"]),
        // Values only: frames, messages, key schedule, record layer, handshake state machine.
        .target(name: "LaboratoryProtocol", dependencies: ["LaboratoryCrypto"]),
        // NIO glue shared by the server and the client: framing and frame I/O.
        .target(
            name: "LaboratoryTransport",
            dependencies: [
                "LaboratoryProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Laboratory",
            dependencies: [
                "LaboratoryProtocol",
                "LaboratoryTransport",
                "LaboratoryCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                // The metrics API only (no back end): the embedder or the executable picks one.
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "LaboratoryClient",
            dependencies: [
                "LaboratoryProtocol",
                "LaboratoryTransport",
                "LaboratoryCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The original prototype's wire format: a listener that plugs into the server, and a client.
        .target(
            name: "LaboratoryLegacy",
            dependencies: [
                "Laboratory",
                "LaboratoryClient",
                "LaboratoryProtocol",
                "LaboratoryCrypto",
                "LaboratoryTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP listener: a `LaboratoryListener` serving health, metrics, the admin API and the
        // WebSocket gateway. Its own product, so that Hummingbird stays optional.
        .target(
            name: "LaboratoryHTTP",
            dependencies: [
                "Laboratory",
                "LaboratoryCrypto",
                "LaboratoryProtocol",
                "LaboratoryTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The PostgreSQL chat store: migrations, gap-free per-room sequence numbers, NOTIFY/LISTEN,
        // retention. Its own product, so that postgres-nio stays optional.
        .target(
            name: "LaboratoryPostgres",
            dependencies: [
                "Laboratory",
                "LaboratoryProtocol",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers users import to test their own services, in memory or against a live server.
        .target(
            name: "LaboratoryTesting",
            dependencies: [
                "Laboratory",
                "LaboratoryClient",
                "LaboratoryProtocol",
                "LaboratoryCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "laboratory-server",
            dependencies: [
                "Laboratory",
                "LaboratoryLegacy",
                "LaboratoryHTTP",
                "LaboratoryPostgres",
                "LaboratoryProtocol",
                "LaboratoryTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The terminal client, built as the `laboratory` executable: interactive prompt, piped
        // commands, echo for scripts. Neither the target nor its folder is called `laboratory`:
        // on a case-insensitive file system (macOS) that name is the same as `Laboratory`.
        .executableTarget(
            name: "laboratory-client",
            dependencies: [
                "LaboratoryClient",
                "LaboratoryProtocol",
                "LaboratoryTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "EchoHost",
            dependencies: [
                "Laboratory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/EchoHost",
            // The proof that the public API suffices: the example sees no `package` declaration.
            packageAccess: false
        ),
        // What the test targets share: the live test server, the RSA test keys, hex, the raw
        // client, child processes, attack helpers. Not a product.
        .target(
            name: "LaboratoryTestSupport",
            dependencies: liveTestDependencies,
            path: "Tests/LaboratoryTestSupport"
        ),
        .testTarget(name: "LaboratoryCryptoTests", dependencies: ["LaboratoryCrypto", "LaboratoryTestSupport"]),
        .testTarget(
            name: "LaboratoryProtocolTests",
            dependencies: [
                "LaboratoryProtocol",
                "LaboratoryCrypto",
                "LaboratoryTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LaboratoryTests",
            dependencies: liveTestDependencies + [
                "LaboratoryTestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LaboratoryClientTests",
            dependencies: [
                "LaboratoryClient",
                "Laboratory",
                "LaboratoryTestSupport",
                "LaboratoryProtocol",
                "LaboratoryTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The terminal client's pure parts (line editor, keys, history, roster), without a terminal.
        .testTarget(name: "LaboratoryTerminalTests", dependencies: ["laboratory-client"]),
        .testTarget(name: "LaboratoryTestingTests", dependencies: ["LaboratoryTesting", "LaboratoryProtocol"]),
        .testTarget(
            name: "LaboratoryHTTPTests",
            dependencies: liveTestDependencies + [
                "LaboratoryTestSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "LaboratoryLegacyTests",
            dependencies: liveTestDependencies + ["LaboratoryTestSupport"]
        ),
        // Against a throwaway PostgreSQL cluster (LaboratoryTestSupport's `PostgresCluster`): needs
        // the postgresql package, so `scripts/test` runs it with the end-to-end targets.
        .testTarget(
            name: "LaboratoryPostgresTests",
            dependencies: [
                "LaboratoryPostgres",
                "LaboratoryTestSupport",
                "Laboratory",
                "LaboratoryProtocol",
                "LaboratoryTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The PostgreSQL chat store through the public API alone, as an embedder uses it (two
        // servers in this process sharing a room); `packageAccess: false` proves it suffices.
        .testTarget(
            name: "LaboratoryPostgresEmbeddingTests",
            dependencies: [
                "Laboratory",
                "LaboratoryPostgres",
                "LaboratoryClient",
                "LaboratoryTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            packageAccess: false
        ),
        // Tests that need more than the toolchain: the executables run as child processes, tmux,
        // Xvfb, Python, the openssl and ssh-keygen commands. `scripts/test` installs them.
        .testTarget(
            name: "LaboratoryEndToEndTests",
            dependencies: liveTestDependencies + ["LaboratoryTestSupport"],
            exclude: ["Legacy/legacy_client.py", "Legacy/legacy_server.py"]
        ),
    ]
)
