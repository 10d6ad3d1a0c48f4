@_spi(Benchmarks) import LaboratoryProtocol
import Logging

/// The services a server offers, by name. Built completely before the server starts, then
/// shared read-only by every connection.
public struct ServiceRegistry: Sendable {
    private var services: [String: any LaboratoryService] = [:]
    /// The registered names, in registration order.
    public private(set) var names: [String] = []

    /// An empty registry.
    public init() {}

    /// A registry with the built-in services: ``EchoService`` as `"echo"` and a new
    /// ``ChatService`` as `"chat"`.
    public static var standard: ServiceRegistry {
        var registry = ServiceRegistry()
        registry.register(EchoService(), as: EchoService.defaultName)
        registry.register(ChatService(), as: ChatService.defaultName)
        return registry
    }

    /// Registers `service` under `name`.
    ///
    /// Names are 1 to 64 characters of `a-z`, `0-9`, `-`, `_` and `.`. Registering an invalid or
    /// already used name is a programming error and stops the program with a message that says so.
    public mutating func register(_ service: some LaboratoryService, as name: String) {
        precondition(Self.isValidName(name), "service name \"\(name)\" must be 1-64 characters of a-z 0-9 - _ .")
        precondition(services[name] == nil, "a service is already registered as \"\(name)\"")
        precondition(names.count < 1000, "a registry holds at most 1000 services")
        services[name] = service
        names.append(name)
    }

    /// The service registered under `name`.
    public func service(named name: String) -> (any LaboratoryService)? { services[name] }

    /// Calls the service a request names and turns the outcome into a response. Never throws: an
    /// unknown service or a failing service becomes an error response. Runs on the caller's
    /// executor.
    @_spi(Benchmarks) public nonisolated(nonsending) func respond(
        to request: Request, context: LaboratoryServiceContext
    ) async -> Response {
        guard let service = services[request.service] else {
            return Response(
                requestID: request.id, status: .unknownService,
                errorMessage:
                    "no service named \"\(request.service.prefix(64))\"; this server offers: \(names.joined(separator: ", "))"
            )
        }
        do {
            let body = try await service.handle(request.body, context: context)
            return Response(requestID: request.id, status: .ok, body: body)
        } catch let error as ServiceError {
            if let retryAfter = error.retryAfter {
                // A rate limit: `rejected`, with the delay in milliseconds as a u32 body (§12).
                let milliseconds = retryAfter.retryMilliseconds
                return Response(
                    requestID: request.id, status: .rejected, errorMessage: error.message,
                    body: withUnsafeBytes(of: milliseconds.bigEndian, Array.init))
            }
            return Response(requestID: request.id, status: .serviceError, errorMessage: error.message)
        } catch {
            context.logger.error("service failed", metadata: ["error": .client(describing: error)])
            return Response(
                requestID: request.id, status: .internalError,
                errorMessage: "the service failed; the server's log has the details")
        }
    }

    /// Tells every service that a session changed its name.
    public func sessionDidRename(_ session: SessionIdentity, from oldName: String) async {
        for name in names { await services[name]?.sessionDidRename(session, from: oldName) }
    }

    /// Tells every service that a session ended.
    public func sessionDidEnd(_ session: SessionIdentity) async {
        for name in names { await services[name]?.sessionDidEnd(session) }
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x5F
                    || byte == 0x2E
            }
    }
}
