import Foundation
import Laboratory
import LaboratoryProtocol
import LaboratoryTesting

extension TestSession {
    /// Sends a chat request and decodes the reply.
    func chat(_ request: ChatRequest) async throws -> ChatReply {
        let body = try await self.request("chat", Array(try JSONEncoder().encode(request)))
        return try JSONDecoder().decode(ChatReply.self, from: Data(body))
    }
}

/// Reads chat events from one session.
struct ChatEvents {
    private var iterator: AsyncStream<ServiceEvent>.AsyncIterator

    init(_ session: TestSession) { iterator = session.events.makeAsyncIterator() }

    /// The next chat event, or `nil` when the session's events end.
    mutating func next() async throws -> ChatEvent? {
        while let event = await iterator.next() {
            if event.service == "chat" { return try JSONDecoder().decode(ChatEvent.self, from: Data(event.body)) }
        }
        return nil
    }

    /// The next `count` chat events.
    mutating func next(_ count: Int) async throws -> [ChatEvent] {
        var events: [ChatEvent] = []
        while events.count < count, let event = try await next() { events.append(event) }
        return events
    }
}

func registry(_ limits: ChatLimits = ChatLimits()) -> ServiceRegistry {
    var services = ServiceRegistry()
    services.register(EchoService(), as: "echo")
    services.register(ChatService(limits: limits), as: "chat")
    return services
}

/// Ada and Bob, both in the room "lobby", and Ada's chat events from before either joined.
func lobby(_ client: ServiceTestClient) async throws -> (ada: TestSession, bob: TestSession, adaEvents: ChatEvents) {
    let (ada, bob) = try await adaAndBob(client)
    let events = ChatEvents(ada)
    _ = try await ada.chat(.join(room: "lobby", after: nil))
    _ = try await bob.chat(.join(room: "lobby", after: nil))
    return (ada, bob, events)
}

/// Two sessions, "ada" and "bob".
func adaAndBob(_ client: ServiceTestClient) async throws -> (ada: TestSession, bob: TestSession) {
    (try await client.session(name: "ada"), try await client.session(name: "bob"))
}
