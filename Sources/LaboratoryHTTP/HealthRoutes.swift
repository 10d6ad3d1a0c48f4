import Hummingbird
import Laboratory

/// `GET /health` and `GET /ready`, for systemd, load balancers and Kubernetes probes.
///
/// - `/health`: 200 while the process serves HTTP at all.
/// - `/ready`: 200 while the server accepts sessions (listening, keys loaded: the HTTP listener is
///   bound only after the server's own listener and keys are), 503 once graceful shutdown has begun.
enum HealthRoutes {
    static func add(to router: Router<HTTPRequestContext>, state: HTTPListenerState) {
        router.get("health") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: .init(string: "ok\n")))
        }
        router.get("ready") { _, _ -> Response in
            let draining = state.isDraining
            return Response(
                status: draining ? .serviceUnavailable : .ok,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: .init(string: draining ? "draining\n" : "ready\n")))
        }
    }
}
