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
    @Test(
        "while another member floods the room, each say is answered only after the speaker got its own message, and members on every event loop get every event once, gap-free"
    )
    func ownMessageBeforeReplyAcrossLoops() async throws {
        try await LiveServer.with { live in
            let flooder = try await live.connect(name: "flooder")
            _ = try await flooder.chat(.join(room: "lobby", after: nil))
            let flood = Task {
                for index in 0..<3000 {
                    if Task.isCancelled { break }
                    _ = try? await flooder.chat(.say(room: "lobby", text: "flood \(index)"))
                }
            }
            // The server hands connections to its event loops in turn: four speakers cover them all.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        var raw = try await live.acceptedRawClient(name: "raw\(index)")
                        try await raw.chat(.join(room: "lobby", after: nil), id: 1)
                        var previous: UInt64?
                        for id in UInt64(2)...31 {
                            let text = "raw\(index) says \(id)"
                            let body = Array(#"{"op":"say","room":"lobby","text":"\#(text)"}"#.utf8)
                            try await raw.send(.request(Request(id: id, service: "chat", body: body)))
                            var own: UInt64?
                            var response: Response?
                            while response == nil, let message = try await raw.receive() {
                                switch message {
                                case .event(let event):
                                    guard let chat = ChatEvent(event), let sequence = chat.sequence else { break }
                                    if let previous {
                                        #expect(sequence == previous + 1, "raw\(index): \(sequence) after \(previous)")
                                    }
                                    previous = sequence
                                    if chat.text == text { own = sequence }
                                case .response(let answer) where answer.requestID == id: response = answer
                                default: break
                                }
                            }
                            #expect(response?.status == .ok)
                            let reply = try JSONDecoder().decode(ChatReply.self, from: Data(response?.body ?? []))
                            #expect(
                                own != nil && own == reply.sequence,
                                "raw\(index), say \(id): own event \(String(describing: own))")
                        }
                        await raw.close()
                    }
                }
                try await group.waitForAll()
            }
            flood.cancel()
            await flooder.close()
        }
    }

    @Test("while another member floods the room, a join's reply carries the sequence of the joiner's own joined event")
    func joinReplyIsOwnJoined() async throws {
        try await LiveServer.with { live in
            let flooder = try await live.connect(name: "flooder")
            _ = try await flooder.chat(.join(room: "lobby", after: nil))
            let flood = Task {
                for index in 0..<3000 {
                    if Task.isCancelled { break }
                    _ = try? await flooder.chat(.say(room: "lobby", text: "flood \(index)"))
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<2 {
                    group.addTask {
                        let name = "joiner\(index)"
                        var raw = try await live.acceptedRawClient(name: name)
                        var id: UInt64 = 0
                        for _ in 0..<20 {
                            id += 1
                            let join = Array(#"{"op":"join","room":"lobby"}"#.utf8)
                            try await raw.send(.request(Request(id: id, service: "chat", body: join)))
                            var own: UInt64?
                            var response: Response?
                            while response == nil, let message = try await raw.receive() {
                                switch message {
                                case .event(let event):
                                    guard let chat = ChatEvent(event), chat.kind == .joined, chat.name == name else {
                                        break
                                    }
                                    own = chat.sequence
                                case .response(let answer) where answer.requestID == id: response = answer
                                default: break
                                }
                            }
                            #expect(response?.status == .ok)
                            let reply = try JSONDecoder().decode(ChatReply.self, from: Data(response?.body ?? []))
                            #expect(
                                own != nil && own == reply.sequence,
                                "\(name), join \(id): own joined \(String(describing: own)), reply \(String(describing: reply.sequence))"
                            )
                            id += 1
                            let leave = Array(#"{"op":"leave","room":"lobby"}"#.utf8)
                            try await raw.send(.request(Request(id: id, service: "chat", body: leave)))
                            var left: Response?
                            while left == nil, let message = try await raw.receive() {
                                if case .response(let answer) = message, answer.requestID == id { left = answer }
                            }
                            #expect(left?.status == .ok)
                        }
                        await raw.close()
                    }
                }
                try await group.waitForAll()
            }
            flood.cancel()
            await flooder.close()
        }
    }
}
