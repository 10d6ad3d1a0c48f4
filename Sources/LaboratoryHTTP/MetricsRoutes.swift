import Hummingbird
import Prometheus

/// `GET /metrics`: the registry's metrics in the Prometheus text exposition format (version
/// 0.0.4), for a Prometheus scraper. The metric names are listed in Docs/HTTP.md.
enum MetricsRoutes {
    static func add(to router: Router<HTTPRequestContext>, registry: PrometheusCollectorRegistry) {
        router.get("metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 * 1024)
            registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
