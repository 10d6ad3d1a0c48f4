import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

// One attack per test, each opening the same way (a live server, a raw client), so that a failure names the attack.
@Suite("Frames under attack", .timeLimit(.minutes(1)))
struct FrameAttackTests {
    @Test(
        "a length prefix over the maximum closes at once, without waiting for or allocating the payload",
        arguments: [UInt32(1 << 20) + 1, UInt32.max])
    func oversizedBeforeHandshake(length: UInt32) async throws {
        try await LiveServer.with { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try #require(await raw.nextFrame())
            // Only the four header bytes are sent: a server that tried to read the payload would
            // wait for the step deadline (10 s) instead of answering at once.
            let start = ContinuousClock.now
            try await raw.sendRaw(Frame.header(payloadLength: Int(length)))
            let reason = try await raw.closeReason()
            #expect(reason?.code == .frameTooLarge)
            #expect(reason?.message.contains("\(length)") == true)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test("after the handshake an oversized prefix is answered with a sealed reason")
    func oversizedInSession() async throws {
        try await LiveServer.with(Tweak { $0.maximumFrameSize = 4096 }) { live in
            var raw = try await live.acceptedRawClient()
            try await raw.sendRaw(Frame.header(payloadLength: 4097))
            let frame = try #require(await raw.nextFrame())
            #expect(
                try ServerMessage(decoding: raw.opener!.open(frame))
                    == .closing(CloseReason(.frameTooLarge, "frame of 4097 bytes exceeds the maximum of 4096 bytes")))
            #expect(await raw.nextFrame() == nil)
        }
    }

    @Test("a flipped bit in an encrypted frame closes the connection", arguments: [0, 13, 40])
    func flippedBit(position: Int) async throws {
        try await LiveServer.with { live in
            var raw = try await live.acceptedRawClient()
            var sealed = try raw.sealer!.seal(
                ClientMessage.request(Request(id: 1, service: "echo", body: Array(repeating: 0x41, count: 20)))
                    .encoded())
            sealed[position] ^= 0x01
            try await raw.sendFrame(sealed)
            #expect(try await raw.closeReason()?.code == .decryptionFailed)
        }
    }

    @Test("a replayed frame closes the connection")
    func replay() async throws {
        try await LiveServer.with { live in
            var raw = try await live.acceptedRawClient()
            let sealed = try await raw.send(.request(Request(id: 1, service: "echo", body: [1, 2, 3])))
            #expect(try await raw.receive() == .response(Response(requestID: 1, status: .ok, body: [1, 2, 3])))
            try await raw.sendFrame(sealed)
            #expect(try await raw.closeReason()?.code == .decryptionFailed)
        }
    }

    @Test("reordered frames close the connection")
    func reorder() async throws {
        try await LiveServer.with { live in
            var raw = try await live.acceptedRawClient()
            let first = try raw.sealer!.seal(ClientMessage.ping(1).encoded())
            let second = try raw.sealer!.seal(ClientMessage.ping(2).encoded())
            // One write: the server may close as soon as it reads `second`, and a second write
            // after that would fail on the client's side instead of testing the server.
            try await raw.sendRaw(Frame.encode(second) + Frame.encode(first))
            #expect(try await raw.closeReason()?.code == .decryptionFailed)
        }
    }

    @Test("a frame reflected back to the server closes the connection")
    func reflection() async throws {
        try await LiveServer.with { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            // The server's sealed password prompt, sent back as if it were ours.
            let prompt = try #require(await raw.nextFrame())
            #expect(try ServerMessage(decoding: raw.opener!.open(prompt)) == .passwordPrompt)
            try await raw.sendFrame(prompt)
            let reason = try await raw.closeReason()
            #expect(reason?.code == .decryptionFailed)
        }
    }

    @Test("a garbled key exchange fails at the first sealed frame, like a wrong secret")
    func garbledKeyExchange() async throws {
        try await LiveServer.with { live in
            var raw = try await RawClient.connect(port: live.port)
            _ = try #require(await raw.nextFrame())
            try await raw.sendFrame(try SecureRandom.bytes(count: 256))
            // The server carries on with a random secret; its prompt does not open with any key
            // we could have derived, and our next frame does not open for it.
            let prompt = try #require(await raw.nextFrame())
            #expect(prompt.count == ServerMessage.passwordPrompt.encoded().count + 16)
            try await raw.sendFrame(try SecureRandom.bytes(count: 40))
            #expect(await raw.remainingFrames().count == 1)
        }
    }

    @Test("one client's bad frames do not disturb another client's session")
    func isolation() async throws {
        try await LiveServer.with { live in
            let good = try await live.connect(name: "good")
            #expect(try await good.request(service: "echo", body: [1]) == [1])
            for index in 0..<5 {
                // From other addresses: the server penalises a bad client's address, not ours.
                var bad = try await RawClient.connect(port: live.port, from: "127.0.0.\(2 + index)")
                _ = try await bad.handshake()
                try await bad.sendFrame(try SecureRandom.bytes(count: 64))
                #expect(try await bad.closeReason()?.code == .decryptionFailed)
                #expect(try await good.request(service: "echo", body: [2, 3]) == [2, 3])
            }
            let other = try await live.connect(name: "other")
            async let a = good.request(service: "echo", body: Array("a".utf8))
            async let b = other.request(service: "echo", body: Array("b".utf8))
            #expect(try await (a, b) == (Array("a".utf8), Array("b".utf8)))
            #expect(good.acceptance.connectionID != other.acceptance.connectionID)
            await good.close()
            await other.close()
        }
    }
}

@Suite("Oversized fields", .timeLimit(.minutes(1)))
struct OversizedFieldTests {
    @Test("a service name too long to quote in the error does not stop the server")
    func longServiceName() async throws {
        try await LiveServer.with { live in
            var raw = try await live.acceptedRawClient()
            let hugeName = String(repeating: "x", count: 70_000)
            // A string field holds at most 65,535 bytes, so the request is built by hand.
            var writer = ByteWriter()
            writer.write(UInt8(0x90))
            writer.write(UInt64(7))
            writer.write(string: String(hugeName.prefix(65_535)))
            writer.write(byteString: [1])
            try await raw.sendFrame(try raw.sealer!.seal(writer.bytes))
            guard case .response(let response)? = try await raw.receive() else {
                Issue.record("expected a response")
                return
            }
            #expect(response.requestID == 7 && response.status == .unknownService)
            #expect(response.errorMessage.count < 300)
            let session = try await live.connect()
            #expect(try await session.request(service: "echo", body: [1]) == [1])
            await session.close()
        }
    }
}
