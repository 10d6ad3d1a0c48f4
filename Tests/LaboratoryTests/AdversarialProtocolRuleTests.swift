import Foundation
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

@_spi(Testing) @testable import Laboratory

extension Adversarial {
    /// The rules a clean-room implementer found ambiguous in PROTOCOL.md, each now stated with
    /// MUST/MUST NOT, attacked over real sockets: pipelined requests, the renewal counters, what
    /// the transport key's handshake budget counts. (The fingerprint of the real executable:
    /// `ExecutableFingerprintTests` in the end-to-end tests.)
    /// (Strict JSON, names and room names: `ChatRulesTests`, `DisplayNameTests`; known hosts:
    /// `KnownHostsFileTests`, `TerminalClientTests.ipv6KnownHosts`.)
    @Suite("Protocol rules", .timeLimit(.minutes(1)))
    struct ProtocolRuleTests {
        /// Records the order in which requests reach it, then answers later requests sooner.
        struct OrderRecorder: LaboratoryService {
            let started = NIOLockedValueBox<[UInt32]>([])
            let count: UInt32

            nonisolated(nonsending) func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws
                -> [UInt8]
            {
                let index = body.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                // Before the first suspension: this runs before the server reads the next frame.
                started.withLockedValue { $0.append(index) }
                try await Task.sleep(for: .milliseconds(Int(count - index) * 5))
                return body
            }
        }

        /// A name of one character is valid however many combining marks it carries by the
        /// character count alone; the handshake and a rename must agree on the byte limit, and a
        /// name the handshake's frame limit could not carry must not be accepted in a rename.
        @Test("a one-character name over 1,024 bytes is rejected at the handshake (nameRejected) and in a rename")
        func nameByteLimit() async throws {
            let over = "a" + String(repeating: "\u{301}", count: 512)
            let longest = "a" + String(repeating: "\u{301}", count: 511)
            try await LiveServer.with { live in
                var refused = try await RawClient.connect(port: live.port)
                try await refused.exchangeKeys()
                #expect(try await refused.receive() == .passwordPrompt)
                _ = try await refused.send(.password(LiveServer.password))
                #expect(try await refused.receive() == .namePrompt)
                _ = try await refused.send(.name(over))
                guard case .nameRejected(let rejection)? = try await refused.receive() else {
                    Issue.record("expected nameRejected")
                    return
                }
                #expect(rejection.reason.contains("1025 bytes"))
                await refused.close()
                var accepted = try await RawClient.connect(port: live.port, from: "127.0.0.2")
                _ = try await accepted.handshake(name: longest)
                _ = try await accepted.send(.rename(requestID: 7, name: over + "\u{301}"))
                guard case .response(let response)? = try await accepted.receive() else {
                    Issue.record("expected the rename's response")
                    return
                }
                #expect(response.requestID == 7 && response.status == .rejected)
                #expect(response.errorMessage.contains("bytes of UTF-8"))
                await accepted.close()
            }
        }

        @Test("pipelined requests reach the service in the order sent; responses come as they finish")
        func pipelinedOrder() async throws {
            let count: UInt32 = 40
            let recorder = OrderRecorder(count: count)
            var services = ServiceRegistry()
            services.register(recorder, as: "order")
            try await LiveServer.with(services: services) { live in
                var raw = try await live.acceptedRawClient()
                // All requests in one write: the server has every frame before it serves the first.
                var bytes: [UInt8] = []
                for index in 1...count {
                    let body = withUnsafeBytes(of: index.bigEndian) { Array($0) }
                    let message = ClientMessage.request(Request(id: UInt64(index), service: "order", body: body))
                    bytes += Frame.encode(try raw.sealer!.seal(message.encoded()))
                }
                try await raw.sendRaw(bytes)
                var answered: [UInt64] = []
                while answered.count < count {
                    guard case .response(let response)? = try await raw.receive() else {
                        Issue.record("expected a response")
                        return
                    }
                    #expect(response.status == .ok)
                    answered.append(response.requestID)
                }
                #expect(recorder.started.withLockedValue { $0 } == Array(1...count))
                #expect(Set(answered) == Set((1...UInt64(count)).map { $0 }) && answered.count == Int(count))
                // Request 1 waits longest (200 ms; the last half wait 100 ms or less): responses are
                // not held back to keep request order.
                #expect(answered.first != 1 && (answered.firstIndex(of: 1) ?? 0) >= Int(count) / 2, "\(answered)")
                await raw.close()
            }
        }

        @Test("pipelined chat requests take effect in the order sent, while other sessions pipeline too")
        func pipelinedChatEffects() async throws {
            try await LiveServer.with { live in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for session in 0..<4 {
                        group.addTask { try await Self.pipelineSays(port: live.port, session: session) }
                    }
                    try await group.waitForAll()
                }
            }
        }

        /// Joins a shared room and leaves it again, with 60 `say`s between, all in one write; checks
        /// that every request succeeded (the join took effect before the first say, the leave after
        /// the last) and that the says got increasing sequence numbers in the order sent.
        static func pipelineSays(port: Int, session: Int) async throws {
            var raw = try await RawClient.connect(port: port)
            _ = try await raw.handshake(name: "pipe\(session)")
            let says = 60  // 62 requests: within the 64 a session may have outstanding
            var requests: [ChatRequest] = [.join(room: "pipe", after: nil)]
            // Odd says are slow to decode (500 escaped characters), even ones quick: a server
            // that decoded them in parallel and acted on whichever finished first would reorder.
            let slow = String(repeating: "\u{1}", count: 500)
            requests += (1...says).map { .say(room: "pipe", text: $0 % 2 == 1 ? "\($0)" + slow : "\($0)") }
            requests.append(.leave(room: "pipe"))
            var bytes: [UInt8] = []
            for (index, request) in requests.enumerated() {
                let body = Array(try JSONEncoder().encode(request))
                let message = ClientMessage.request(Request(id: UInt64(index + 1), service: "chat", body: body))
                bytes += Frame.encode(try raw.sealer!.seal(message.encoded()))
            }
            try await raw.sendRaw(bytes)
            var sequences: [UInt64: UInt64] = [:]
            var answered = 0
            while answered < requests.count {
                switch try await raw.receive() {
                case .response(let response)?:
                    answered += 1
                    #expect(response.status == .ok, "request \(response.requestID): \(response.errorMessage)")
                    if let sequence = try? JSONDecoder().decode(ChatReply.self, from: Data(response.body)).sequence {
                        sequences[response.requestID] = sequence
                    }
                case .event?:
                    continue
                case let other:
                    Issue.record("unexpected \(String(describing: other))")
                    return
                }
            }
            // Say k is request k + 1; its sequence number grows with k.
            let ordered = (2...says + 1).compactMap { sequences[UInt64($0)] }
            #expect(ordered.count == says && ordered == ordered.sorted(), "session \(session): \(ordered)")
            await raw.close()
        }

        /// Pushes `count` events (given as the body's single byte), then answers.
        struct Burst: LaboratoryService {
            func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws -> [UInt8] {
                for index in 0..<Int(body.first ?? 0) { try context.push([UInt8(index)]) }
                return []
            }
        }

        @Test("the server's frame counter for renewal includes its sealed handshake frames")
        func renewalCountsHandshakeFrames() async throws {
            var services = ServiceRegistry()
            services.register(Burst(), as: "burst")
            try await LiveServer.with(Tweak { $0.outbound.rekeyAfterFrames = 8 }, services: services) { live in
                var raw = try await RawClient.connect(port: live.port)
                _ = try await raw.handshake()  // passwordPrompt, namePrompt, accepted: counters 0, 1, 2
                try await raw.send(.request(Request(id: 1, service: "burst", body: [10])))
                var eventsBeforeUpdate = 0
                while true {
                    let message = try #require(try await raw.receive())
                    if case .event = message {
                        eventsBeforeUpdate += 1
                        continue
                    }
                    guard case .keyUpdate(let update) = message else {
                        Issue.record("expected events, then a key update; got \(message)")
                        return
                    }
                    try raw.opener!.apply(update)
                    break
                }
                // 3 handshake frames + 5 events = 8 sealed frames: the ninth frame is the update.
                // (Were the handshake not counted, 8 events would come first.)
                #expect(eventsBeforeUpdate == 5)
                await raw.close()
            }
        }

        @Test("the client's byte counter for renewal includes its sealed password and name")
        func renewalCountsHandshakeBytes() async throws {
            // password (1 + 2 + 28 bytes) + name "raw" (1 + 2 + 3 bytes) = 37 bytes under the first key.
            let handshakeBytes = 1 + 2 + LiveServer.password.utf8.count + 1 + 2 + 3
            #expect(handshakeBytes == 37)
            try await LiveServer.with(Tweak { $0.outbound.rekeyAfterBytes = 3000 }) { live in
                var raw = try await live.acceptedRawClient()
                // Requests of exactly 990 message bytes to a service that does not exist (a short
                // error comes back, so the server's own direction stays far from the limit).
                let body = [UInt8](repeating: 0x61, count: 990 - (1 + 8 + 2 + 4 + 4))
                func request(_ id: UInt64) -> ClientMessage {
                    .request(Request(id: id, service: "none", body: body))
                }
                #expect(request(1).encoded().count == 990)
                var requestsBeforeUpdate = 0
                for id in UInt64(1)...4 {
                    try await raw.send(request(id))
                    requestsBeforeUpdate += 1
                    var sawUpdate = false
                    while true {
                        let message = try #require(try await raw.receive())
                        if case .keyUpdate(let update) = message {
                            #expect(update.requestsUpdate)
                            try raw.opener!.apply(update)
                            sawUpdate = true
                            continue
                        }
                        guard case .response = message else {
                            Issue.record("unexpected \(message)")
                            return
                        }
                        break
                    }
                    if sawUpdate { break }
                }
                // 37 + 3 × 990 = 3,007 ≥ 3,000 after the third request; without the handshake's
                // 37 bytes it would take a fourth.
                #expect(requestsBeforeUpdate == 3)
                await raw.close()
            }
        }

        @Test("the handshake budget counts hellos that offer the key, finished handshakes or not")
        func budgetCountsHellos() async throws {
            try await LiveServer.withRotatingKeys(Tweak { $0.transportKeys.maximumHandshakes = 3 }) { live, keys in
                let first = keys.currentOffer.certificate.transportKeySPKI
                // Three connections that read the hello and never answer it.
                var silent: [RawClient] = []
                for _ in 0..<3 {
                    var raw = try await RawClient.connect(port: live.port)
                    let hello = try ServerHello(decoding: try #require(await raw.nextFrame()))
                    #expect(hello.transportKey.transportKeySPKI == first)
                    silent.append(raw)
                }
                // The rotation task looks once a second; the next key is generated meanwhile.
                try await keys.waitForRotation(from: RSAPublicKey.fingerprint(ofSPKI: first), within: .seconds(30))
                var next = try await RawClient.connect(port: live.port)
                let hello = try ServerHello(decoding: try #require(await next.nextFrame()))
                #expect(hello.transportKey.transportKeySPKI != first)
                await next.close()
                for raw in silent { await raw.close() }
            }
        }
    }
}
