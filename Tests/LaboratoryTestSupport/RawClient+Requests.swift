import Foundation
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol

/// Requests and events as a raw client sees them, for tests that drive a session by hand.
extension RawClient {
    /// Sends a chat request with `id` and reads until its response, which must be `ok`.
    package mutating func chat(_ request: ChatRequest, id: UInt64) async throws {
        let body = Array(try JSONEncoder().encode(request))
        try await send(.request(Request(id: id, service: "chat", body: body)))
        let response = try await self.response(id: id)
        guard response.status == .ok else { throw RawClientError("chat request \(id) failed: \(response)") }
    }

    /// Reads messages until the response to request `id` (skipping events and pings).
    package mutating func response(id: UInt64) async throws -> Response {
        while let message = try await receive() {
            if case .response(let response) = message, response.requestID == id { return response }
            if case .closing(let reason) = message { throw RawClientError("closed: \(reason)") }
        }
        throw RawClientError("closed before the response to \(id)")
    }

    /// Reads messages until a chat event that satisfies `isWanted`.
    package mutating func nextChatEvent(where isWanted: (ChatEvent) -> Bool) async throws -> ChatEvent {
        while let message = try await receive() {
            if case .event(let event) = message, let chat = ChatEvent(event), isWanted(chat) { return chat }
            if case .closing(let reason) = message { throw RawClientError("closed: \(reason)") }
        }
        throw RawClientError("closed before the chat event")
    }
}
