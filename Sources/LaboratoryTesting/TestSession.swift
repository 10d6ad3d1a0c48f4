import Laboratory
import LaboratoryClient
import NIOCore

/// One client session in a service test, in memory or live: send requests, collect pushed
/// events, rename, disconnect.
public final class TestSession: Sendable {
    enum Backend {
        case inMemory(InMemorySession)
        case live(ClientSession)
    }

    private let backend: Backend
    /// The session's connection id.
    public let connectionID: UInt64
    /// Events pushed to this session, in order; finishes when the session ends.
    public let events: AsyncStream<ServiceEvent>

    init(backend: Backend, connectionID: UInt64, events: AsyncStream<ServiceEvent>) {
        self.backend = backend
        self.connectionID = connectionID
        self.events = events
    }

    /// Calls a service; returns its body or throws ``ServiceTestError``.
    public func request(_ service: String, _ body: [UInt8]) async throws -> [UInt8] {
        switch backend {
        case .inMemory(let session):
            return try await session.request(service, .bytes(body)).array
        case .live(let session):
            do {
                return try await session.request(service: service, body: body)
            } catch let error as ClientError where error.code == .requestFailed {
                let message = error.message.split(separator: ": ", maxSplits: 1).last.map(String.init) ?? error.message
                throw ServiceTestError(status: error.responseStatus ?? .internalError, message: message)
            }
        }
    }

    /// Calls a service with a buffer body; returns its body as a buffer or throws
    /// ``ServiceTestError``. For testing a `LaboratoryByteBufferService` with the buffers it
    /// handles: in memory it gets `body` itself and its answer comes back as it returned it (no
    /// copy either way); live, the body travels as the bytes of a real request.
    public func request(_ service: String, _ body: ByteBuffer) async throws -> ByteBuffer {
        switch backend {
        case .inMemory(let session):
            return try await session.request(service, .buffer(body)).buffer
        case .live:
            return ByteBuffer(bytes: try await request(service, Array(body.readableBytesView)))
        }
    }

    /// Changes the display name; services are told before this returns.
    public func rename(to name: String) async throws {
        switch backend {
        case .inMemory(let session): try await session.rename(to: name)
        case .live(let session):
            do {
                try await session.rename(to: name)
            } catch let error as ClientError where error.code == .requestFailed {
                let message = error.message.split(separator: ": ", maxSplits: 1).last.map(String.init) ?? error.message
                throw ServiceTestError(status: error.responseStatus ?? .rejected, message: message)
            }
        }
    }

    /// Ends the session; services get `sessionDidEnd`. Safe to call twice.
    public func disconnect() async {
        switch backend {
        case .inMemory(let session): await session.disconnect()
        case .live(let session): await session.close()
        }
    }
}
