import Foundation
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import NIOPosix
import Testing

@_spi(Testing) @testable import Laboratory

@Suite("Transport keys and forward secrecy", .timeLimit(.minutes(2)))
struct TransportKeyTests {
    @Test("the key exchange is encrypted to the transport key, which is freed after rotation")
    func rotationDestroysTransportKey() async throws {
        try await LiveServer.with(
            Tweak {
                // Fresh keys, not the shared test pool (which would keep them alive). One handshake
                // per key, so the key rotates right after ours, whatever the machine's speed.
                $0.transportKeys.keySource = { try RSAPrivateKey(bitCount: 2048) }
                $0.transportKeys.maximumHandshakes = 1
                $0.handshakeTimeout = .seconds(2)
                $0.handshakeStepTimeout = .seconds(1)
            }
        ) { live in
            let keys = try #require(await live.server.transportKeys)
            weak let firstKey = keys.currentOffer.privateKey
            let firstFingerprint = keys.currentOffer.privateKey.publicKey.fingerprint

            var raw = try await RawClient.connect(port: live.port)
            let helloPayload = try #require(await raw.nextFrame())
            let hello = try ServerHello(decoding: helloPayload)
            #expect(RSAPublicKey.fingerprint(ofSPKI: hello.transportKey.transportKeySPKI) == firstFingerprint)
            #expect(hello.identityKeySPKI == LiveServer.hostKey.publicKey.spkiDER)
            let transport = try RSAPublicKey(spkiDER: hello.transportKey.transportKeySPKI)
            let ciphertext = try transport.encryptOAEP(try SecureRandom.bytes(count: 32))
            // What an eavesdropper records cannot be opened with the identity key, even if stolen.
            #expect(throws: CryptoError.self) { try LiveServer.hostKey.decryptOAEP(ciphertext) }
            try await raw.sendFrame(ciphertext)
            _ = await raw.nextFrame()
            await raw.close()

            // Wait (bounded) for rotation and for the old key to be released.
            let deadline = ContinuousClock.now + .seconds(60)
            while firstKey != nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(keys.currentOffer.privateKey.publicKey.fingerprint != firstFingerprint)
            #expect(firstKey == nil, "the retired transport private key is still referenced")

            // Sessions keep working across rotations.
            let session = try await live.connect()
            #expect(try await session.request(service: "echo", body: [1]) == [1])
            await session.close()
        }
    }

    @Test("a transport key rotates when its lifetime is over")
    func lifetime() async throws {
        try await LiveServer.withRotatingKeys(Tweak { $0.transportKeys.lifetime = .milliseconds(500) }) { _, keys in
            let first = keys.currentFingerprint
            try await keys.waitForRotation(from: first, within: .seconds(60))
            #expect(keys.currentFingerprint != first)
        }
    }

    @Test("a transport key rotates after its handshake budget; new connections never wait")
    func handshakeBudget() async throws {
        try await LiveServer.withRotatingKeys(Tweak { $0.transportKeys.maximumHandshakes = 3 }) { live, keys in
            let first = keys.currentOffer.privateKey.publicKey.fingerprint
            var seen: Set<String> = []
            for index in 0..<12 {
                let session = try await live.connect(name: "client\(index)")
                seen.insert(session.serverFingerprint)
                await session.close()
                if keys.currentOffer.privateKey.publicKey.fingerprint != first { break }
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while keys.currentOffer.privateKey.publicKey.fingerprint == first, ContinuousClock.now < deadline {
                _ = try await live.connect(name: "more").close()
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(keys.currentOffer.privateKey.publicKey.fingerprint != first)
            // The identity (what clients pin) never changes.
            #expect(seen == [live.fingerprint])
        }
    }
}

@Suite("Client checks of the transport key", .timeLimit(.minutes(1)))
struct TransportKeyVerificationTests {
    /// A fake server that sends `hello` and records whether the client sent anything back.
    private func clientSendsNothing(to hello: ServerHello, pin: String) async throws -> ClientError {
        let recorder = ByteRecorder(hello: hello.encoded())
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        let error = try await #require(throws: ClientError.self) {
            try await ClientSession.connect(
                host: "127.0.0.1", port: listener.localAddress!.port!, password: "secret", name: "ada",
                trust: .pinned(fingerprint: pin))
        }
        var disconnects = recorder.disconnects.makeAsyncIterator()
        #expect(await disconnects.next() == 0)
        return error
    }

    @Test("a transport key signed by another key is refused before anything is sent")
    func wrongSigner() async throws {
        let identity = LiveServer.hostKey
        let mallory = TestKeys.other
        let hello = try certifiedHello(identity: identity, transport: TestKeys.transport, signer: mallory)
        let error = try await clientSendsNothing(to: hello, pin: identity.publicKey.fingerprint)
        #expect(error.code == .serverKeyMismatch)
        #expect(error.message.contains("not signed"))
    }

    @Test("an expired transport key is refused before anything is sent")
    func expired() async throws {
        let identity = LiveServer.hostKey
        // Valid from two hours ago until an hour ago.
        let hello = try certifiedHello(
            identity: identity, transport: TestKeys.transport, valid: Duration.seconds(-7200)...Duration.seconds(-3600))
        let error = try await clientSendsNothing(to: hello, pin: identity.publicKey.fingerprint)
        #expect(error.code == .serverKeyMismatch)
        #expect(error.message.contains("valid from"))
    }
}
