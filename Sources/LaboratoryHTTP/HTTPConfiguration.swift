import Prometheus

/// Where and how ``HTTPListener`` serves.
///
/// The HTTP listener is off unless an embedder (or `laboratory-server --http-port`) creates one;
/// it binds to the loopback address by default, because its admin API and metrics are for the
/// operator of this machine. Bind it elsewhere only behind a reverse proxy or with care.
public struct HTTPConfiguration: Sendable {
    /// The address to bind; `127.0.0.1` by default.
    public var host: String
    /// The port to bind; 0 picks a free one (see ``HTTPListener/localAddress``).
    public var port: Int
    /// The registry `GET /metrics` serves, in the Prometheus text format. By default swift-prometheus'
    /// default registry: the one a `PrometheusMetricsFactory()` bootstrapped as the global metrics
    /// factory reports to (`laboratory-server` does this when HTTP is on). A server whose
    /// `ServerConfiguration.metricsFactory` is a `PrometheusMetricsFactory` over a registry of its
    /// own passes that registry here.
    public var metrics: PrometheusCollectorRegistry

    /// A configuration for `port` on `host` (the loopback address unless given), serving `metrics`.
    public init(
        host: String = "127.0.0.1", port: Int,
        metrics: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry
    ) {
        self.host = host
        self.port = port
        self.metrics = metrics
    }
}
