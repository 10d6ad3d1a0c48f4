import ArgumentParser
import CoreMetrics
import Foundation
import LaboratoryHTTP
import Prometheus

/// The optional HTTP listener's options (health, readiness, metrics, the admin API, the browser
/// client and the WebSocket gateway): where it listens and what it serves.
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

    @Flag(
        help: """
            Serve the WebSocket gateway on the HTTP listener (GET /v1/ws): browsers reach the same sessions \
            and rooms as TCP clients, with the same password. Needs --http-port.
            """)
    var websocket = false

    @Option(
        help: ArgumentHelp(
            "A web page origin (scheme://host[:port]) allowed to open the gateway besides the same origin; repeatable.",
            valueName: "origin"))
    var websocketOrigin: [String] = []

    @Option(
        help: """
            Serve the browser client from this folder at / on the HTTP listener (Clients/web in the \
            repository). Needs --http-port; the page needs --websocket to connect.
            """)
    var webRoot: String?

    func validate() throws {
        if let httpPort { try OptionRange.check(httpPort, 0...65535, "--http-port") }
        if websocket, httpPort == nil { throw ValidationError("--websocket needs --http-port") }
        if !websocketOrigin.isEmpty, !websocket { throw ValidationError("--websocket-origin needs --websocket") }
        for origin in websocketOrigin where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ValidationError("--websocket-origin \(origin) is not an origin such as https://chat.example.org")
        }
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
    /// server, which takes its metrics factory when it is created. `configure` completes the
    /// listener's configuration (the admin API) before it is created.
    func makeListener(
        _ configure: (inout HTTPConfiguration) throws -> Void
    ) rethrows -> AddressedListener<HTTPListener>? {
        guard let httpPort else { return nil }
        let registry = PrometheusMetricsFactory.defaultRegistry
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let host = httpHost
        var configuration = HTTPConfiguration(
            host: host, port: httpPort, webRoot: webRoot,
            webSocketGateway: websocket ? WebSocketGatewayConfiguration(allowedOrigins: websocketOrigin) : nil,
            metrics: registry)
        try configure(&configuration)
        return AddressedListener(
            base: HTTPListener(configuration: configuration),
            option: "--http-port", address: host.contains(":") ? "[\(host)]:\(httpPort)" : "\(host):\(httpPort)")
    }
}
