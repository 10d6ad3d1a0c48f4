import ArgumentParser
import CoreMetrics
import LaboratoryHTTP
import Prometheus

/// `--http-port` and `--http-host`: the optional HTTP listener (health, readiness, metrics).
struct HTTPOptions: ParsableArguments {
    @Option(
        help: """
            Also serve HTTP on this port: GET /health, /ready (503 while draining) and /metrics \
            (Prometheus). 0 picks a free port. Off unless given.
            """)
    var httpPort: Int?

    @Option(help: "The address the HTTP listener binds (loopback by default: its endpoints are for the operator).")
    var httpHost = "127.0.0.1"

    func validate() throws {
        if let httpPort { try OptionRange.check(httpPort, 0...65535, "--http-port") }
    }

    /// The HTTP listener, if `--http-port` is given. Makes the global metrics factory a
    /// `PrometheusMetricsFactory` over the registry `/metrics` serves: call it before creating the
    /// server, which takes its metrics factory when it is created.
    func makeListener() -> AddressedListener<HTTPListener>? {
        guard let httpPort else { return nil }
        let registry = PrometheusMetricsFactory.defaultRegistry
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let host = httpHost
        return AddressedListener(
            base: HTTPListener(configuration: HTTPConfiguration(host: host, port: httpPort, metrics: registry)),
            option: "--http-port", address: host.contains(":") ? "[\(host)]:\(httpPort)" : "\(host):\(httpPort)")
    }
}
