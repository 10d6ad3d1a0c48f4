import NIOSSL
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
    /// The admin API under `/admin/…`; off (`nil`) by default. See ``AdminConfiguration``.
    public var admin: AdminConfiguration?

    /// The folder of the browser client (`Clients/web` in the repository) to serve at `/`, or
    /// `nil` (the default) to serve no page. Its `tests/` folder is never served.
    public var webRoot: String?

    /// The registry `GET /metrics` serves, in the Prometheus text format. By default swift-prometheus'
    /// default registry: the one a `PrometheusMetricsFactory()` bootstrapped as the global metrics
    /// factory reports to (`laboratory-server` does this when HTTP is on). A server whose
    /// `ServerConfiguration.metricsFactory` is a `PrometheusMetricsFactory` over a registry of its
    /// own passes that registry here.
    public var metrics: PrometheusCollectorRegistry

    /// TLS for the listener (swift-nio-ssl), so that it serves `https://` and `wss://` itself; `nil`
    /// (the default) for plain HTTP, on loopback or behind a reverse proxy that ends TLS. Make one
    /// with `TLSConfiguration.makeServerConfiguration(certificateChain:privateKey:)`, or
    /// ``HTTPConfiguration/serverTLS(certificateChainFile:privateKeyFile:)`` from PEM files.
    public var tls: TLSConfiguration?

    /// The WebSocket gateway (`GET /v1/ws`), or `nil` (the default) for none.
    public var webSocketGateway: WebSocketGatewayConfiguration?

    /// A configuration for `port` on `host` (the loopback address unless given), serving `metrics`,
    /// the browser client from `webRoot` and the WebSocket gateway, each if given.
    public init(
        host: String = "127.0.0.1", port: Int, webRoot: String? = nil,
        webSocketGateway: WebSocketGatewayConfiguration? = nil,
        metrics: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry
    ) {
        self.host = host
        self.port = port
        self.webRoot = webRoot
        self.metrics = metrics
        self.webSocketGateway = webSocketGateway
    }
}

extension HTTPConfiguration {
    /// A server TLS configuration from a PEM certificate chain (the listener's certificate first)
    /// and a PEM private key, for ``tls``. Throws ``HTTPTLSFileError`` naming the file that cannot
    /// be read or is not PEM.
    public static func serverTLS(certificateChainFile: String, privateKeyFile: String) throws(HTTPTLSFileError)
        -> TLSConfiguration
    {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile)
        } catch {
            throw HTTPTLSFileError(path: certificateChainFile, what: "certificate chain", error: error)
        }
        guard !chain.isEmpty else {
            throw HTTPTLSFileError(path: certificateChainFile, what: "certificate chain", error: nil)
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        } catch {
            throw HTTPTLSFileError(path: privateKeyFile, what: "private key", error: error)
        }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}
