import Hummingbird
import Laboratory

/// The routes of one ``HTTPListener``, each group added by the file named after it.
enum HTTPRouter {
    static func make(
        configuration: HTTPConfiguration, context: LaboratoryListenerContext, state: HTTPListenerState
    ) -> Router<HTTPRequestContext> {
        let router = Router(context: HTTPRequestContext.self)
        if let webRoot = configuration.webRoot {
            WebClientRoutes.add(to: router, webRoot: webRoot, logger: context.logger)
        }
        HealthRoutes.add(to: router, state: state)
        if let admin = configuration.admin { AdminRoutes.add(to: router, admin: admin, context: context) }
        MetricsRoutes.add(to: router, registry: configuration.metrics)
        if let gateway = configuration.webSocketGateway {
            WebSocketGatewayRoutes.add(to: router, context: context, state: state, configuration: gateway)
        }
        return router
    }
}
