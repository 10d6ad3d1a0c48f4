import Laboratory
import LaboratoryClient

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
            return try await session.request(service, body)
        case .live(let session):
            do {
                return try await session.request(service: service, body: body)
            } catch let error as ClientError where error.code == .requestFailed {
                let message = error.message.split(separator: ": ", maxSplits: 1).last.map(String.init) ?? error.message
                throw ServiceTestError(status: error.responseStatus ?? .internalError, message: message)
            }
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
