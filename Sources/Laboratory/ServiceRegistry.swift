@_spi(Benchmarks) import LaboratoryProtocol
import Logging
import NIOCore

/// The services a server offers, by name. Built completely before the server starts, then
/// shared read-only by every connection.
public struct ServiceRegistry: Sendable {
    /// How a registered service is called: with arrays, with buffers, or with buffers and at once
    /// (decided once, at registration, so a request costs no dynamic cast).
    private enum Handler: Sendable {
        case bytes(any LaboratoryService)
        case buffer(any LaboratoryByteBufferService)
        case immediate(any LaboratoryImmediateService)

        var service: any LaboratoryService {
            switch self {
            case .bytes(let service): service
            case .buffer(let service): service
            case .immediate(let service): service
            }
        }
    }

    private var services: [String: Handler] = [:]
    /// Whether any registered service is a ``LaboratoryImmediateService``: only then do sessions
    /// let their event loop answer requests.
    package private(set) var servesImmediately = false
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
        if let immediate = service as? any LaboratoryImmediateService {
            services[name] = .immediate(immediate)
            servesImmediately = true
        } else if let buffered = service as? any LaboratoryByteBufferService {
            services[name] = .buffer(buffered)
        } else {
            services[name] = .bytes(service)
        }
        names.append(name)
    }

    /// The service registered under `name`.
    public func service(named name: String) -> (any LaboratoryService)? { services[name]?.service }

    /// Calls the service a request names and turns the outcome into a response. Never throws: an
    /// unknown service or a failing service becomes an error response. Runs on the caller's
    /// executor.
    @_spi(Benchmarks) public nonisolated(nonsending) func respond(
        to request: Request, context: LaboratoryServiceContext
    ) async -> Response {
        let (head, body) = await respond(
            to: RequestHead(id: request.id, service: request.service), body: .bytes(request.body), context: context)
        return Response(
            requestID: head.requestID, status: head.status, errorMessage: head.errorMessage, body: body.array)
    }

    /// Calls the service a request names as the connection does: the head read from the opened
    /// frame, the body a slice of the buffer the frame was opened into. Then calls `response` with
    /// the response's head and its body's bytes where the service left them (where the connection
    /// seals them from), and returns what it returns. Never throws. Runs on the caller's executor.
    @_spi(Benchmarks) public nonisolated(nonsending) func respond<Answer>(
        to request: RequestHead, body: ByteBuffer, context: LaboratoryServiceContext,
        response: (ResponseHead, UnsafeRawBufferPointer) -> Answer
    ) async -> Answer {
        let (head, body) = await respond(to: request, body: .buffer(body), context: context)
        return body.withUnsafeBytes { response(head, $0) }
    }

    /// Calls the service a request names with `body`: a ``LaboratoryByteBufferService`` with a
    /// buffer body gets it as it is, anything else the array form (an array service's body is
    /// copied out of a buffer; an array body goes to a buffer service's array form), and
    /// returns the response's head and its body as the service returned it, for the server to
    /// seal from where it lies. Never throws: an unknown service or a failing service becomes an
    /// error response. Runs on the caller's executor.
    package nonisolated(nonsending) func respond(
        to request: RequestHead, body: ServiceBody, context: LaboratoryServiceContext
    ) async -> (head: ResponseHead, body: ServiceBody) {
        guard let handler = services[request.service] else { return unknownService(request) }
        do {
            let answer: ServiceBody
            switch (handler, body) {
            case (.buffer(let service), .buffer(let buffer)):
                answer = .buffer(try await service.handle(buffer, context: context))
            case (.immediate(let service), .buffer(let buffer)):
                answer = .buffer(try service.handleImmediately(buffer, context: context))
            default:
                // An array service, or an array body (a test's): the array form, which a buffer
                // service provides by bridging unless it has its own.
                answer = .bytes(try await handler.service.handle(body.array, context: context))
            }
            return (ResponseHead(requestID: request.id, status: .ok), answer)
        } catch {
            return Self.failed(request, error, logger: context.logger)
        }
    }

    /// Answers a request at once if the service it names is a ``LaboratoryImmediateService`` (or
    /// is not registered: the `unknown service` response needs no service either); returns `nil`,
    /// calling nothing, for any other service. Never throws. Runs on the caller's thread, an event
    /// loop's when a session answers on it.
    package func respondImmediately(
        to request: RequestHead, body: ByteBuffer, context: LaboratoryServiceContext
    ) -> (head: ResponseHead, body: ServiceBody)? {
        guard let handler = services[request.service] else { return unknownService(request) }
        guard case .immediate(let service) = handler else { return nil }
        do {
            return (
                ResponseHead(requestID: request.id, status: .ok),
                .buffer(try service.handleImmediately(body, context: context))
            )
        } catch {
            return Self.failed(request, error, logger: context.logger)
        }
    }

    // The two responses below are built out of line, in functions that do not suspend: what they
    // need (the message's interpolation, the error's cast, the log call) would otherwise take room
    // in the async frame of every request, and a frame beyond the task allocator's slab costs a
    // malloc per request (the RegistryDispatchEcho64B benchmark counts them).

    /// The response to a request for a service this registry does not hold.
    @inline(never)
    private func unknownService(_ request: RequestHead) -> (head: ResponseHead, body: ServiceBody) {
        (
            ResponseHead(
                requestID: request.id, status: .unknownService,
                errorMessage:
                    "no service named \"\(request.service.prefix(64))\"; this server offers: \(names.joined(separator: ", "))"
            ), .empty
        )
    }

    /// The response to a request whose service threw `error`: a ``ServiceError`` becomes a
    /// `rejected` or `serviceError` response with its message; anything else is logged and
    /// becomes an `internalError` response that does not say what it was.
    @inline(never)
    private static func failed(
        _ request: RequestHead, _ error: any Error, logger: Logger
    ) -> (head: ResponseHead, body: ServiceBody) {
        guard let error = error as? ServiceError else {
            logger.error("service failed", metadata: ["error": .client(describing: error)])
            return (
                ResponseHead(
                    requestID: request.id, status: .internalError,
                    errorMessage: "the service failed; the server's log has the details"), .empty
            )
        }
        if let retryAfter = error.retryAfter {
            // A rate limit: `rejected`, with the delay in milliseconds as a u32 body (§12).
            let milliseconds = retryAfter.retryMilliseconds
            return (
                ResponseHead(requestID: request.id, status: .rejected, errorMessage: error.message),
                .bytes(withUnsafeBytes(of: milliseconds.bigEndian, Array.init))
            )
        }
        return (ResponseHead(requestID: request.id, status: .serviceError, errorMessage: error.message), .empty)
    }

    /// Tells every service that a session changed its name.
    public func sessionDidRename(_ session: SessionIdentity, from oldName: String) async {
        for name in names { await services[name]?.service.sessionDidRename(session, from: oldName) }
    }

    /// Tells every service that a session ended.
    public func sessionDidEnd(_ session: SessionIdentity) async {
        for name in names { await services[name]?.service.sessionDidEnd(session) }
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x5F
                    || byte == 0x2E
            }
    }
}
