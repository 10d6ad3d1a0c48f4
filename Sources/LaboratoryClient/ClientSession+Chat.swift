import Foundation
import LaboratoryProtocol

extension ClientSession {
    /// Sends a request to the built-in chat service and decodes its reply.
    public func chat(_ request: ChatRequest, service: String = "chat") async throws -> ChatReply {
        let body = try await self.request(service: service, body: Array(try JSONEncoder().encode(request)))
        return try JSONDecoder().decode(ChatReply.self, from: Data(body))
    }

    /// Every room on the server with its member count, in name order, fetched page by page. When
    /// the server says the session lists too often, waits as long as it says and asks again.
    ///
    /// A room created or forgotten while the pages are fetched may be missing or listed; each room
    /// is listed at most once.
    public func chatRooms(service: String = "chat") async throws -> [ChatRoomSummary] {
        var rooms: [ChatRoomSummary] = []
        var cursor: String?
        repeat {
            let reply = try await chatRetryingWhenLimited(.rooms(after: cursor), service: service)
            rooms += reply.rooms ?? []
            cursor = reply.next
        } while cursor != nil
        return rooms
    }

    /// Every member of `room`, in id order, fetched page by page like ``chatRooms(service:)``.
    public func chatMembers(of room: String, service: String = "chat") async throws -> [ChatMember] {
        var members: [ChatMember] = []
        var cursor: String?
        repeat {
            let reply = try await chatRetryingWhenLimited(.who(room: room, after: cursor), service: service)
            members += reply.members ?? []
            cursor = reply.next
        } while cursor != nil
        return members
    }

    private func chatRetryingWhenLimited(_ request: ChatRequest, service: String) async throws -> ChatReply {
        while true {
            do {
                return try await chat(request, service: service)
            } catch let error as ClientError where error.retryAfter != nil {
                try await Task.sleep(for: error.retryAfter!)
            }
        }
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
