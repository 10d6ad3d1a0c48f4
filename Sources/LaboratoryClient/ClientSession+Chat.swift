import Foundation
import LaboratoryProtocol

extension ClientSession {
    /// Sends a request to the built-in chat service and decodes its reply.
    public func chat(_ request: ChatRequest, service: String = "chat") async throws -> ChatReply {
        let body = try await self.request(service: service, body: Array(try JSONEncoder().encode(request)))
        return try JSONDecoder().decode(ChatReply.self, from: Data(body))
    }
}

extension ChatEvent {
    /// Decodes a chat event from a pushed service event; `nil` if it is from another service or
    /// not a chat event.
    public init?(_ event: ServiceEvent, service: String = "chat") {
        guard event.service == service,
            let decoded = try? JSONDecoder().decode(ChatEvent.self, from: Data(event.body))
        else { return nil }
        self = decoded
    }
}
