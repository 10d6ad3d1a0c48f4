import Laboratory
import NIOCore
import Testing

@Suite("Key updates, live", .timeLimit(.minutes(1)))
struct KeyUpdateLiveTests {
    @Test("a client's key update is answered with the server's own, and traffic continues under the new keys")
    func clientInitiated() async throws {
        try await LiveServer.with { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
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
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
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
            var raw = try await RawClient.connect(port: live.port)
            _ = try await raw.handshake()
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
