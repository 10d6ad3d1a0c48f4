import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("Chat, live", .timeLimit(.minutes(3)))
struct ChatLiveTests {
    @Test("three clients, 1,000 messages each, rekeys in the middle: same order for all, none lost or doubled")
    func orderUnderRekey() async throws {
        let perClient = 1000
        try await LiveServer.with(
            Tweak {
                // Let the server renew its keys on its own too, many times during the run.
                $0.outbound.rekeyAfterFrames = 700
            }
        ) { live in
            var sessions: [ClientSession] = []
            for name in ["ada", "bob", "cy"] { sessions.append(try await live.connect(name: name)) }
            var readers = sessions.map { ChatEventReader($0) }
            for session in sessions { _ = try await session.chat(.join(room: "lobby", after: nil)) }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for session in sessions {
                    group.addTask {
                        for index in 0..<perClient {
                            if index == perClient / 2 { try await session.rekey() }
                            _ = try await session.chat(
                                .say(room: "lobby", text: "\(session.acceptance.connectionID):\(index)"))
                        }
                    }
                }
                try await group.waitForAll()
            }

            var orders: [[UInt64]] = []
            for index in readers.indices {
                let messages = await readers[index].collect(3 * perClient) { $0.kind == .message }
                #expect(messages.count == 3 * perClient)
                orders.append(messages.compactMap(\.sequence))
                // Per sender, every index exactly once and in the order it was said.
                for session in sessions {
                    let id = session.acceptance.connectionID
                    let texts = messages.filter { $0.from == id }.compactMap(\.text)
                    #expect(texts == (0..<perClient).map { "\(id):\($0)" })
                }
            }
            #expect(orders[0] == orders[1] && orders[1] == orders[2])
            #expect(orders[0] == orders[0].sorted() && Set(orders[0]).count == orders[0].count)
            for session in sessions { await session.close() }
        }
    }

    @Test("a session that stops reading is dropped as a slow consumer; the others keep receiving")
    func slowConsumer() async throws {
        try await LiveServer.with(
            Tweak { $0.outbound.maximumQueuedBytes = 128 * 1024 }
        ) { live in
            let sender = try await live.connect(name: "sender")
            let reader = try await live.connect(name: "reader")
            var readerEvents = ChatEventReader(reader)
            _ = try await sender.chat(.join(room: "flood", after: nil))
            _ = try await reader.chat(.join(room: "flood", after: nil))

            // A raw member with a tiny receive buffer that never reads after joining.
            var stalled = try await RawClient.connect(port: live.port, receiveBufferSize: 4096)
            let acceptance = try await stalled.handshake(name: "stalled")
            try await stalled.send(
                .request(Request(id: 1, service: "chat", body: Array(#"{"op":"join","room":"flood"}"#.utf8))))
            _ = try await stalled.receive()
            try await stalled.channel.setOption(.autoRead, value: false).get()

            _ = try await SlowConsumerFlood.run(
                from: sender, in: "flood", until: acceptance.connectionID, isDroppedSeenBy: &readerEvents,
                textBytes: 2000, maximumMessages: 20_000, checkEvery: 100)
            #expect(try await reader.request(service: "echo", body: [1]) == [1])
            await stalled.close()
            await sender.close()
            await reader.close()
        }
    }
}
