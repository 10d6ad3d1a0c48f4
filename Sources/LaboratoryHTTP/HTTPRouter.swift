import Hummingbird
import Laboratory

/// The routes of one ``HTTPListener``, each group added by the file named after it.
enum HTTPRouter {
    static func make(
        context: LaboratoryListenerContext, state: HTTPListenerState, configuration: HTTPConfiguration
    ) -> Router<HTTPRequestContext> {
        let router = Router(context: HTTPRequestContext.self)
        HealthRoutes.add(to: router, state: state)
        if let gateway = configuration.webSocketGateway {
            WebSocketGatewayRoutes.add(to: router, context: context, state: state, configuration: gateway)
        }
        return router
    }
}
