import Hummingbird
import Laboratory
import Logging

/// The browser client (`Clients/web` in the repository) as static files at `/`, when
/// ``HTTPConfiguration/webRoot`` names its folder: `index.html` for `/`, JavaScript modules as
/// `text/javascript` (browsers refuse modules served as anything else). Its `tests/` folder (the
/// test pages) is not served.
enum WebClientRoutes {
    static func add(to router: Router<HTTPRequestContext>, webRoot: String, logger: Logger) {
        router.middlewares.add(WithoutTestPages())
        router.middlewares.add(
            FileMiddleware(webRoot, searchForIndexHtml: true, logger: logger)
                .withAdditionalMediaType(.textJavascript, mappedToFileExtension: "js"))
    }

    /// 404 for the folder of test pages, before the files are looked up.
    struct WithoutTestPages: RouterMiddleware {
        typealias Context = HTTPRequestContext

        func handle(
            _ request: Request, context: Context, next: (Request, Context) async throws -> Response
        ) async throws -> Response {
            if request.uri.path == "/tests" || request.uri.path.hasPrefix("/tests/") {
                throw HTTPError(.notFound)
            }
            return try await next(request, context)
        }
    }
}
