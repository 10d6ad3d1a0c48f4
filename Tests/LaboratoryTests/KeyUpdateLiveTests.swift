import Laboratory
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

// One rule per test, each opening the same way (a live server, a raw client), so that a failure names the rule.
@Suite("Key updates, live", .timeLimit(.minutes(1)))
struct KeyUpdateLiveTests {
    @Test("a client's key update is answered with the server's own, and traffic continues under the new keys")
    func clientInitiated() async throws {
        try await LiveServer.with { live in
            var raw = try await live.acceptedRawClient()
            let update = try KeyUpdate.random(requestsUpdate: true)
            try await raw.send(.keyUpdate(update))
            try raw.sealer!.apply(update)
            // The server answers with its own update, which does not ask for another.
            guard case .keyUpdate(let reply)? = try await raw.receive() else {
                Issue.record("expected the server's key update")
                return
            }
            #expect(!reply.requestsUpdate)
            try raw.opener!.apply(reply)
            try await raw.send(.ping(42))
            #expect(try await raw.receive() == .pong(42))
            #expect(raw.sealer!.counter == 1 && raw.opener!.counter == 1)
        }
    }

    @Test("a frame sealed with the old key after a key update does not open")
    func oldKeyRefused() async throws {
        try await LiveServer.with { live in
            var raw = try await live.acceptedRawClient()
            let update = try KeyUpdate.random(requestsUpdate: false)
            try await raw.send(.keyUpdate(update))
            // Deliberately keep sealing with the old key.
            try await raw.send(.ping(1))
            #expect(try await raw.closeReason()?.code == .decryptionFailed)
        }
    }

    @Test("the server renews its key after the configured number of frames and asks the client to do the same")
    func serverInitiated() async throws {
        try await LiveServer.with(Tweak { $0.outbound.rekeyAfterFrames = 5 }) { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()  // server frames 0...2
            var updates = 0
            for value in UInt64(1)...20 {
                try await raw.send(.ping(value))
                var answered = false
                while !answered {
                    switch try await raw.receive() {
                    case .keyUpdate(let update)?:
                        updates += 1
                        try raw.opener!.apply(update)
                        if update.requestsUpdate {
                            let mine = try KeyUpdate.random(requestsUpdate: false)
                            try await raw.send(.keyUpdate(mine))
                            try raw.sealer!.apply(mine)
                        }
                    case .pong(let echoed)?:
                        #expect(echoed == value)
                        answered = true
                    case let other:
                        Issue.record("unexpected \(String(describing: other))")
                        return
                    }
                }
            }
            // 23 server frames before updates at 5 per key: several renewals, all applied cleanly.
            #expect(updates >= 3)
        }
    }

    @Test("a client that ignores key update requests is closed past twice the limit")
    func ignoredRequests() async throws {
        try await LiveServer.with(Tweak { $0.outbound.rekeyAfterFrames = 5 }) { live in
            var raw = try await live.acceptedRawClient()
            var reason: CloseReason?
            var value: UInt64 = 0
            sending: while value < 50 {
                value += 1
                try await raw.send(.ping(value))
                while true {
                    guard let frame = await raw.nextFrame() else { break sending }
                    switch try ServerMessage(decoding: raw.opener!.open(frame)) {
                    case .keyUpdate(let update): try raw.opener!.apply(update)  // but never update our own key
                    case .pong: continue sending
                    case .closing(let closing):
                        reason = closing
                        break sending
                    default: continue
                    }
                }
            }
            #expect(reason?.code == .keyExhausted)
            #expect(value <= 12)
        }
    }
}

@Suite("Outbound edge cases", .timeLimit(.minutes(1)))
struct OutboundEdgeTests {
    @Test("nothing follows the closing message, even when a key renewal is due")
    func nothingAfterClosing() async throws {
        try await LiveServer.with(Tweak { $0.outbound.rekeyInterval = .zero }) { live in
            var raw = try await live.acceptedRawClient()
            try await raw.send(.bye)
            var last: ServerMessage?
            while let frame = await raw.nextFrame() {
                let message = try ServerMessage(decoding: raw.opener!.open(frame))
                if case .keyUpdate(let update) = message { try raw.opener!.apply(update) }
                last = message
            }
            guard case .closing(let reason)? = last else {
                Issue.record("the last frame was \(String(describing: last)), not closing")
                return
            }
            #expect(reason.code == .normal)
        }
    }

    @Test("a maximum-size response fits through the outbound queue")
    func maximumSizeResponse() async throws {
        try await LiveServer.with { live in
            let session = try await live.connect()
            // The largest echo body a request frame can carry: 1 MiB less type (1), id (8),
            // service "echo" (2 + 4), body length (4) and tag (16). Its response frame, with the
            // 4-byte prefix, is just over 1 MiB: more than the queue's byte limit on its own.
            let body = [UInt8](repeating: 7, count: (1 << 20) - 35)
            #expect(try await session.request(service: "echo", body: body) == body)
            await session.close()
        }
    }
}
