// swift-tools-version:6.2
// Performance tooling for Laboratory, kept out of the main package so that users of the library
// never resolve or build the benchmark dependencies. See Docs/PERFORMANCE.md and scripts/bench.
import PackageDescription

let package = Package(
    name: "LaboratoryBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Laboratory", path: "../"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The 4-byte length framing the load generator and both baseline servers share.
        .target(
            name: "BenchFraming",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The load generator: drives real servers over loopback from its own process.
        .executableTarget(
            name: "laboratory-bench",
            dependencies: [
                "BenchFraming",
                .product(name: "_LaboratoryInternals", package: "Laboratory"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // Baseline: plaintext echo with classic ChannelHandlers (the ceiling of the stack).
        .executableTarget(
            name: "nio-echo-classic",
            dependencies: [
                "BenchFraming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Baseline: plaintext echo on NIOAsyncChannel with async/await, one task per connection.
        .executableTarget(
            name: "nio-echo-async",
            dependencies: [
                "BenchFraming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The server for profiling under valgrind (a synchronous main; see its header comment).
        .executableTarget(
            name: "laboratory-bench-host",
            dependencies: [
                .product(name: "Laboratory", package: "Laboratory"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // LABORATORY_BENCH_METRICS=prometheus: the cost of metrics being on.
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Micro-benchmarks (ordo-one/benchmark): `swift package benchmark` in this directory.
        .executableTarget(
            name: "LaboratoryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Laboratory", package: "Laboratory"),
                .product(name: "_LaboratoryInternals", package: "Laboratory"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LaboratoryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
