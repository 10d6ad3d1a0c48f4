import ArgumentParser
import Foundation
import CoreMetrics
import LaboratoryHTTP
import Prometheus

/// `--http-port`, `--http-host` and `--web-root`: the optional HTTP listener (health, readiness,
/// metrics, the admin API, the browser client).
struct HTTPOptions: ParsableArguments {
    @Option(
        help: """
            Also serve HTTP on this port: GET /health, /ready (503 while draining), /metrics \
            (Prometheus) and the admin API (bearer token in <state-dir>/admin_token, generated on \
            first start). 0 picks a free port. Off unless given.
            """)
    var httpPort: Int?

    @Option(help: "The address the HTTP listener binds (loopback by default: its endpoints are for the operator).")
    var httpHost = "127.0.0.1"

    @Option(
        help: """
            Serve the browser client from this folder at / on the HTTP listener (Clients/web in the \
            repository). Needs --http-port.
            """)
    var webRoot: String?

    func validate() throws {
        if let httpPort { try OptionRange.check(httpPort, 0...65535, "--http-port") }
        if let webRoot {
            if httpPort == nil { throw ValidationError("--web-root needs --http-port") }
            guard FileManager.default.fileExists(atPath: webRoot + "/index.html") else {
                throw ValidationError(
                    "--web-root \(webRoot): no index.html there; give the browser client's folder (Clients/web)")
            }
        }
    }

    /// The HTTP listener, if `--http-port` is given. Makes the global metrics factory a
    /// `PrometheusMetricsFactory` over the registry `/metrics` serves: call it before creating the
    /// server, which takes its metrics factory when it is created.
    /// `configure` completes the listener's configuration (the admin API) before it is created.
    func makeListener(
        _ configure: (inout HTTPConfiguration) throws -> Void
    ) rethrows -> AddressedListener<HTTPListener>? {
        guard let httpPort else { return nil }
        let registry = PrometheusMetricsFactory.defaultRegistry
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let host = httpHost
        var configuration = HTTPConfiguration(host: host, port: httpPort, metrics: registry)
        configuration.webRoot = webRoot
        try configure(&configuration)
        return AddressedListener(
            base: HTTPListener(configuration: configuration),
            option: "--http-port", address: host.contains(":") ? "[\(host)]:\(httpPort)" : "\(host):\(httpPort)")
    }
}
