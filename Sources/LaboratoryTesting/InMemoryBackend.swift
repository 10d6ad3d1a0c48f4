@_spi(Benchmarks) import Laboratory
@_spi(Benchmarks) import LaboratoryProtocol
import Logging
import Synchronization

/// Sessions that call the registry directly.
final class InMemoryBackend: Sendable {
    let registry: ServiceRegistry
    private let nextID = Atomic<UInt64>(1)

    init(registry: ServiceRegistry) { self.registry = registry }

    func session(name: String) async throws -> TestSession {
        let displayName: String
        do {
            displayName = try DisplayName.validate(name)
        } catch let error as ProtocolError {
            throw ServiceTestError(status: .rejected, message: error.closeReason.message)
        }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (events, continuation) = AsyncStream<ServiceEvent>.makeStream()
        let session = InMemorySession(
            registry: registry,
            identity: SessionIdentity(connectionID: id, remoteAddress: "in-memory", displayName: displayName),
            continuation: continuation)
        return TestSession(backend: .inMemory(session), connectionID: id, events: events)
    }
}

/// The in-memory counterpart of a server connection.
actor InMemorySession {
    private let registry: ServiceRegistry
    private var identity: SessionIdentity
    private let continuation: AsyncStream<ServiceEvent>.Continuation
    private let isOpen = OpenFlag()
    private var logger = Logger(label: "laboratory.testing")

    init(registry: ServiceRegistry, identity: SessionIdentity, continuation: AsyncStream<ServiceEvent>.Continuation) {
        self.registry = registry
        self.identity = identity
        self.continuation = continuation
        logger[metadataKey: "connection"] = "\(identity.connectionID)"
    }

    private var sink: EventSink {
        EventSink(connectionID: identity.connectionID) { [continuation, isOpen] event in
            guard isOpen.value.load(ordering: .relaxed) else { return false }
            continuation.yield(event)
            return true
        }
    }

    /// Calls the service as the server does: a `LaboratoryByteBufferService` gets a buffer (no
    /// copy if `body` is one), a ``LaboratoryService`` an array.
    func request(_ service: String, _ body: ServiceBody) async throws -> ServiceBody {
        guard isOpen.value.load(ordering: .relaxed) else {
            throw ServiceTestError(status: .rejected, message: "the session has been disconnected")
        }
        var logger = self.logger
        logger[metadataKey: "service"] = .client(service)
        let context = LaboratoryServiceContext(session: identity, logger: logger, serviceName: service, events: sink)
        let (head, answer) = await registry.respond(
            to: RequestHead(id: 0, service: service), body: body, context: context)
        guard head.status == .ok else {
            throw ServiceTestError(status: head.status, message: head.errorMessage)
        }
        return answer
    }

    func rename(to name: String) async throws {
        let oldName = identity.displayName
        do {
            identity.displayName = try DisplayName.validate(name)
        } catch let error as ProtocolError {
            throw ServiceTestError(status: .rejected, message: error.closeReason.message)
        }
        await registry.sessionDidRename(identity, from: oldName)
    }

    func disconnect() async {
        guard isOpen.value.exchange(false, ordering: .relaxed) else { return }
        await registry.sessionDidEnd(identity)
        continuation.finish()
    }
}

/// Whether an in-memory session is still open; read by its event sink from any task.
final class OpenFlag: Sendable {
    let value = Atomic<Bool>(true)
}
