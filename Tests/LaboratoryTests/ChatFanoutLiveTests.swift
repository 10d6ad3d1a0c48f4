import Foundation
import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

/// The in-memory room hands each event to every event loop that writes for its members, and the
/// loops seal it in parallel: these attack the order that must survive that.
@Suite("Chat fan-out across event loops, live", .timeLimit(.minutes(3)))
struct ChatFanoutLiveTests {
    /// Runs `body` on a live server while a member, "flooder", says up to 3,000 messages in room
    /// "lobby", one after another; the flood stops when `body` returns or throws.
    static func whileFlooding(_ body: @escaping @Sendable (LiveServer) async throws -> Void) async throws {
        try await LiveServer.with { live in
            let flooder = try await live.connect(name: "flooder")
            _ = try await flooder.chat(.join(room: "lobby", after: nil))
            let flood = Task {
                for index in 0..<3000 {
                    if Task.isCancelled { break }
                    _ = try? await flooder.chat(.say(room: "lobby", text: "flood \(index)"))
                }
            }
            let failure: (any Error)?
            do {
                try await body(live)
                failure = nil
            } catch {
                failure = error
            }
            flood.cancel()
            await flooder.close()
            if let failure { throw failure }
        }
    }

    @Test(
        "while another member floods the room, each say is answered only after the speaker got its own message, and members on every event loop get every event once, gap-free"
    )
    func ownMessageBeforeReplyAcrossLoops() async throws {
        try await Self.whileFlooding { live in
            // The server hands connections to its event loops in turn: four speakers cover them all.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        var raw = try await live.acceptedRawClient(name: "raw\(index)")
                        try await raw.chat(.join(room: "lobby", after: nil), id: 1)
                        var previous: UInt64?
                        for id in UInt64(2)...31 {
                            let text = "raw\(index) says \(id)"
                            var own: UInt64?
                            let reply = try await raw.chatReply(.say(room: "lobby", text: text), id: id) { chat in
                                guard let sequence = chat.sequence else { return }
                                if let previous {
                                    #expect(sequence == previous + 1, "raw\(index): \(sequence) after \(previous)")
                                }
                                previous = sequence
                                if chat.text == text { own = sequence }
                            }
                            #expect(
                                own != nil && own == reply.sequence,
                                "raw\(index), say \(id): own event \(String(describing: own))")
                        }
                        await raw.close()
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("while another member floods the room, a join's reply carries the sequence of the joiner's own joined event")
    func joinReplyIsOwnJoined() async throws {
        try await Self.whileFlooding { live in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<2 {
                    group.addTask {
                        let name = "joiner\(index)"
                        var raw = try await live.acceptedRawClient(name: name)
                        var id: UInt64 = 0
                        for _ in 0..<20 {
                            id += 1
                            var own: UInt64?
                            let reply = try await raw.chatReply(.join(room: "lobby", after: nil), id: id) { chat in
                                if chat.kind == .joined, chat.name == name { own = chat.sequence }
                            }
                            #expect(
                                own != nil && own == reply.sequence,
                                "\(name), join \(id): own joined \(String(describing: own)), reply \(String(describing: reply.sequence))"
                            )
                            id += 1
                            try await raw.chat(.leave(room: "lobby"), id: id)
                        }
                        await raw.close()
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

extension RawClient {
    /// Sends chat request `request` as request `id` and reads until its response, handing every
    /// chat event before it to `event`; returns the reply (throws unless the response is `ok`).
    fileprivate mutating func chatReply(
        _ request: ChatRequest, id: UInt64, event: (ChatEvent) -> Void
    ) async throws -> ChatReply {
        try await send(.request(Request(id: id, service: "chat", body: Array(try JSONEncoder().encode(request)))))
        while let message = try await receive() {
            switch message {
            case .event(let serviceEvent):
                if let chat = ChatEvent(serviceEvent) { event(chat) }
            case .response(let response) where response.requestID == id:
                guard response.status == .ok else { throw RawClientError("chat request \(id) failed: \(response)") }
                return try JSONDecoder().decode(ChatReply.self, from: Data(response.body))
            case .closing(let reason):
                throw RawClientError("closed: \(reason)")
            default:
                break
            }
        }
        throw RawClientError("closed before the response to \(id)")
    }
}
