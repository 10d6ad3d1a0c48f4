// A Laboratory server for profiling: the same services and defaults as `laboratory-server`, but
// started from a synchronous main that parks the main thread. valgrind 3.19 crashes on programs
// whose main thread leaves through dispatch_main (every `async` main on Linux), so callgrind runs
// this host instead (see Docs/PERFORMANCE.md, "Profiling"). The measured runs use the real
// `laboratory-server`.
//
//   LABORATORY_PASSWORD=... laboratory-bench-host --port 0 --state-dir DIR
//
// With LABORATORY_BENCH_METRICS=prometheus the server reports its metrics to a swift-prometheus
// registry (as `laboratory-server --http-port` does), to measure what metrics cost; without it
// they go to swift-metrics' no-op default.
import Dispatch
import Foundation
import Laboratory
import Logging
import Prometheus
import ServiceLifecycle

var port = 0
var stateDirectory = ".laboratory-bench"
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? 0
    case "--state-dir": stateDirectory = arguments.next() ?? stateDirectory
    default: break
    }
}
guard let password = ProcessInfo.processInfo.environment["LABORATORY_PASSWORD"] else {
    FileHandle.standardError.write(Data("set LABORATORY_PASSWORD\n".utf8))
    exit(2)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}
let logger = Logger(label: "laboratory.bench-host")
let (hostKey, _) = try StateDirectory(path: stateDirectory).loadOrCreateHostKey()
var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
configuration.port = port
if ProcessInfo.processInfo.environment["LABORATORY_BENCH_METRICS"] == "prometheus" {
    configuration.metricsFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
}
let server = LaboratoryServer(configuration: configuration, services: .standard, logger: logger)

let finished = DispatchSemaphore(value: 0)
Task.detached {
    let group = ServiceGroup(
        configuration: .init(services: [.init(service: server)], gracefulShutdownSignals: [.sigterm], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        tasks.addTask {
            let address = try await server.listeningAddress()
            print("Listening on \(address.ipAddress ?? "127.0.0.1"):\(address.port ?? 0)")
            fflush(nil)
        }
        try await tasks.waitForAll()
    }
    finished.signal()
}
finished.wait()
