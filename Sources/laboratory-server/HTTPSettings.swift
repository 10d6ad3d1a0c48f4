import CoreMetrics
import Foundation
import LaboratoryHTTP
import LaboratoryProtocol
import Prometheus

/// The HTTP listener's settings (`http-port`, `http-host`, `websocket`, `websocket-origin`,
/// `web-root`, `http-tls-certificate`, `http-tls-key`), each with its source, resolved like every other setting (flag > environment >
/// `--config` file > default) and checked together. All of them need a restart to change.
struct HTTPSettings: Sendable, Equatable {
    /// `nil`: no HTTP listener.
    var port: Sourced<Int>?
    var host: Sourced<String>
    var webSocket: Sourced<Bool>
    var webSocketOrigins: Sourced<[String]>
    var webRoot: Sourced<String>?
    /// TLS: both or neither.
    var tlsCertificate: Sourced<String>?
    var tlsKey: Sourced<String>?

    /// Reads and checks the HTTP settings.
    ///
    /// - Throws: a one-line usage ``ExitReport`` naming the key and its source: a port out of
    ///   range, `websocket` or `web-root` without `http-port`, `websocket-origin` without
    ///   `websocket` or not an origin, a `web-root` with no `index.html`.
    static func resolve(_ reader: SettingsReader) async throws(ExitReport) -> HTTPSettings {
        let port = try await reader.int(.httpPort)
        if let port, let problem = OptionRange.problem(port.value, 0...65535, port.source.subject(.httpPort)) {
            throw ExitReport(.usage, problem)
        }
        let settings = HTTPSettings(
            port: port,
            host: try await reader.string(.httpHost) ?? Sourced(value: "127.0.0.1", source: .default),
            webSocket: try await reader.bool(.websocket) ?? Sourced(value: false, source: .default),
            webSocketOrigins: try await reader.strings(.websocketOrigin) ?? Sourced(value: [], source: .default),
            webRoot: try await reader.string(.webRoot),
            tlsCertificate: try await reader.string(.httpTLSCertificate),
            tlsKey: try await reader.string(.httpTLSKey))
        try settings.check()
        return settings
    }

    /// The checks that involve several settings, or a value's form.
    private func check() throws(ExitReport) {
        /// `--http-port` after a flag, `http-port` after anything else.
        func needed(_ key: SettingKey, by source: SettingSource) -> String {
            if case .flag = source { key.flag } else { key.rawValue }
        }
        if webSocket.value, port == nil {
            throw ExitReport(
                .usage, "\(webSocket.source.subject(.websocket)) needs \(needed(.httpPort, by: webSocket.source))")
        }
        let origins = webSocketOrigins.source.subject(.websocketOrigin)
        if !webSocketOrigins.value.isEmpty, !webSocket.value {
            throw ExitReport(.usage, "\(origins) needs \(needed(.websocket, by: webSocketOrigins.source))")
        }
        for origin in webSocketOrigins.value where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ExitReport(.usage, "\(origins): \(origin) is not an origin such as https://chat.example.org")
        }
        if let tls = tlsCertificate ?? tlsKey {
            let key: SettingKey = tlsCertificate == nil ? .httpTLSKey : .httpTLSCertificate
            let other: SettingKey = tlsCertificate == nil ? .httpTLSCertificate : .httpTLSKey
            if tlsCertificate == nil || tlsKey == nil {
                throw ExitReport(.usage, "\(tls.source.subject(key)) needs \(needed(other, by: tls.source))")
            }
            if port == nil {
                throw ExitReport(.usage, "\(tls.source.subject(key)) needs \(needed(.httpPort, by: tls.source))")
            }
        }
        if let webRoot {
            let subject = webRoot.source.subject(.webRoot)
            if port == nil { throw ExitReport(.usage, "\(subject) needs \(needed(.httpPort, by: webRoot.source))") }
            guard FileManager.default.fileExists(atPath: webRoot.value + "/index.html") else {
                throw ExitReport(
                    .usage,
                    "\(subject) \(webRoot.value): no index.html there; give the browser client's folder (Clients/web)")
            }
        }
    }

    /// `key: value  # source` for each HTTP setting, as `--print-config` prints them.
    func printed(_ format: (String, String, SettingSource) -> String, shown: (Any) -> String) -> [String] {
        func line<Value>(_ key: SettingKey, _ sourced: Sourced<Value>?) -> String {
            guard let sourced else { return format(key.rawValue, "off", .default) }
            return format(key.rawValue, shown(sourced.value), sourced.source)
        }
        return [
            line(.httpPort, port), line(.httpHost, host), line(.websocket, webSocket),
            line(.websocketOrigin, webSocketOrigins), line(.webRoot, webRoot),
            line(.httpTLSCertificate, tlsCertificate), line(.httpTLSKey, tlsKey),
        ]
    }

    /// The settings that differ from `other` (all need a restart).
    func changes(from other: HTTPSettings) -> [SettingKey] {
        var changed: [SettingKey] = []
        if port?.value != other.port?.value { changed.append(.httpPort) }
        if host.value != other.host.value { changed.append(.httpHost) }
        if webSocket.value != other.webSocket.value { changed.append(.websocket) }
        if webSocketOrigins.value != other.webSocketOrigins.value { changed.append(.websocketOrigin) }
        if webRoot?.value != other.webRoot?.value { changed.append(.webRoot) }
        if tlsCertificate?.value != other.tlsCertificate?.value { changed.append(.httpTLSCertificate) }
        if tlsKey?.value != other.tlsKey?.value { changed.append(.httpTLSKey) }
        return changed
    }

    /// The HTTP listener, if `http-port` is set. Makes the global metrics factory a
    /// `PrometheusMetricsFactory` over the registry `/metrics` serves: call it before creating the
    /// server, which takes its metrics factory when it is created. `configure` completes the
    /// listener's configuration (the admin API) before it is created.
    func makeListener(
        _ configure: (inout HTTPConfiguration) throws -> Void
    ) throws -> AddressedListener<HTTPListener>? {
        guard let port else { return nil }
        let registry = PrometheusMetricsFactory.defaultRegistry
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let host = host.value
        var configuration = HTTPConfiguration(
            host: host, port: port.value, webRoot: webRoot?.value,
            webSocketGateway: webSocket.value
                ? WebSocketGatewayConfiguration(allowedOrigins: webSocketOrigins.value) : nil,
            metrics: registry)
        if let tlsCertificate, let tlsKey {
            do {
                configuration.tls = try HTTPConfiguration.serverTLS(
                    certificateChainFile: tlsCertificate.value, privateKeyFile: tlsKey.value)
            } catch {
                let exists = FileManager.default.fileExists(atPath: error.path)
                let readable = FileManager.default.isReadableFile(atPath: error.path)
                let status: ProcessExitStatus = !exists ? .noInput : readable ? .dataError : .noPermission
                throw ExitReport(status, error.description)
            }
        }
        try configure(&configuration)
        return AddressedListener(
            base: HTTPListener(configuration: configuration),
            option: port.source.subject(.httpPort),
            address: host.contains(":") ? "[\(host)]:\(port.value)" : "\(host):\(port.value)")
    }
}
