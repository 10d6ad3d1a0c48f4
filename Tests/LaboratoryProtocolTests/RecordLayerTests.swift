import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

/// Both ends of a session derived from one secret.
struct SessionPair {
    let keys: SessionKeys
    let clientSealer: RecordSealer
    let serverOpener: RecordOpener
    let serverSealer: RecordSealer
    let clientOpener: RecordOpener

    init() throws {
        let random = try SecureRandom.bytes(count: 32)
        let hello = Fixtures.hello(transportSPKI: [0x30, 0x00], random: random).encoded()
        keys = try SessionKeys.derive(
            secret: try SecureRandom.bytes(count: 32), serverRandom: random, helloPayload: hello)
        clientSealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
        serverOpener = try RecordOpener(key: keys.clientToServerKey, iv: keys.clientToServerIV)
        serverSealer = try RecordSealer(key: keys.serverToClientKey, iv: keys.serverToClientIV)
        clientOpener = try RecordOpener(key: keys.serverToClientKey, iv: keys.serverToClientIV)
    }
}

@Suite("Record layer")
struct RecordLayerTests {
    @Test("Several frames round-trip in both directions and counters advance")
    func roundTrip() throws {
        let session = try SessionPair()
        let payloads: [[UInt8]] = [[], [1], Array(repeating: 0xab, count: 1000), ClientMessage.bye.encoded(), [1]]
        for (index, payload) in payloads.enumerated() {
            let upstream = try session.clientSealer.seal(payload)
            #expect(upstream.count == payload.count + AES256GCM.tagByteCount)
            #expect(try session.serverOpener.open(upstream) == payload)
            let downstream = try session.serverSealer.seal(payload)
            #expect(downstream != upstream, "the directions use different keys")
            #expect(try session.clientOpener.open(downstream) == payload)
            #expect(session.clientSealer.counter == UInt64(index + 1))
            #expect(session.serverOpener.counter == UInt64(index + 1))
        }
    }

    @Test("The same plaintext seals differently frame after frame")
    func counterChangesNonce() throws {
        let session = try SessionPair()
        let first = try session.clientSealer.seal([1, 2, 3])
        let second = try session.clientSealer.seal([1, 2, 3])
        #expect(first != second)
    }

    @Test("A replayed frame fails with decryptionFailed")
    func replay() throws {
        let session = try SessionPair()
        let frame = try session.clientSealer.seal(Array("hello".utf8))
        #expect(try session.serverOpener.open(frame) == Array("hello".utf8))
        let error = try #require(throws: ProtocolError.self) { try session.serverOpener.open(frame) }
        #expect(error.closeReason.code == .decryptionFailed)
        #expect(error.closeReason.message.contains("frame 1"))
    }

    @Test("Reordered frames fail")
    func reorder() throws {
        let session = try SessionPair()
        let first = try session.clientSealer.seal([1])
        let second = try session.clientSealer.seal([2])
        #expect(try closeCode { _ = try session.serverOpener.open(second) } == .decryptionFailed)
        #expect(session.serverOpener.counter == 0, "a failed frame does not advance the counter")
        #expect(try session.serverOpener.open(first) == [1])
        #expect(try session.serverOpener.open(second) == [2])
    }

    @Test("A frame reflected back to its sender does not open")
    func reflection() throws {
        let session = try SessionPair()
        // The server seals frame 0 to the client; an attacker sends it back to the server.
        let downstream = try session.serverSealer.seal(ServerMessage.passwordPrompt.encoded())
        #expect(try closeCode { _ = try session.serverOpener.open(downstream) } == .decryptionFailed)
        let upstream = try session.clientSealer.seal(ClientMessage.password("x").encoded())
        #expect(try closeCode { _ = try session.clientOpener.open(upstream) } == .decryptionFailed)
        #expect(session.keys.clientToServerKey != session.keys.serverToClientKey)
        #expect(session.keys.clientToServerIV != session.keys.serverToClientIV)
    }

    @Test("A flipped bit anywhere in a frame fails", arguments: [0, 5, 15, 16, 20, 35])
    func flippedBit(at index: Int) throws {
        let session = try SessionPair()
        var frame = try session.clientSealer.seal(Array(repeating: 0x42, count: 20))
        #expect(frame.count == 36)
        frame[index] ^= 0x10
        #expect(try closeCode { _ = try session.serverOpener.open(frame) } == .decryptionFailed)
    }

    @Test("A truncated frame fails as decryptionFailed, not a crash", arguments: [0, 1, 15, 16, 35])
    func truncated(to count: Int) throws {
        let session = try SessionPair()
        let frame = try session.clientSealer.seal(Array(repeating: 0x42, count: 20))
        #expect(try closeCode { _ = try session.serverOpener.open(Array(frame.prefix(count))) } == .decryptionFailed)
    }

    @Test("recordNonce XORs the big-endian counter into the last eight IV bytes")
    func nonceLayout() {
        let iv: [UInt8] = Array(0...11)
        #expect(recordNonce(iv: iv, counter: 0) == iv)
        #expect(recordNonce(iv: iv, counter: 0x0102_0304_0506_0708) == [0, 1, 2, 3, 5, 7, 5, 3, 13, 15, 13, 3])
        #expect(recordNonce(iv: iv, counter: 1) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10])
        #expect(recordNonce(iv: iv, counter: .max) == [0, 1, 2, 3, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4])
        let zero = [UInt8](repeating: 0, count: 12)
        #expect(recordNonce(iv: zero, counter: 0x0102_0304_0506_0708) == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test("Frame n is AES-256-GCM under IV XOR n, computed independently")
    func sealerUsesRecordNonce() throws {
        let key = try SecureRandom.bytes(count: 32)
        let iv = try SecureRandom.bytes(count: 12)
        let sealer = try RecordSealer(key: key, iv: iv)
        let reference = try AES256GCM(key: key, direction: .seal)
        for n in 0..<3 {
            var nonce = iv
            nonce[11] ^= UInt8(n)
            let plaintext: [UInt8] = [UInt8(n), 0x55]
            #expect(try sealer.seal(plaintext) == reference.seal(plaintext, nonce: nonce))
        }
    }

    @Test("Keys of the wrong size are refused")
    func wrongKeySize() {
        #expect(throws: CryptoError.self) { try RecordSealer(key: [1, 2, 3], iv: Array(repeating: 0, count: 12)) }
        #expect(throws: CryptoError.self) { try RecordOpener(key: [], iv: Array(repeating: 0, count: 12)) }
    }
}

@Suite("SessionKeys")
struct SessionKeysTests {
    @Test("derive equals HKDF-SHA256 over the documented layout")
    func matchesIndependentHKDF() throws {
        let secret = try SecureRandom.bytes(count: 32)
        let random = try SecureRandom.bytes(count: 32)
        let hello = Fixtures.hello(transportSPKI: Fixtures.privateKey.publicKey.spkiDER, random: random).encoded()
        let keys = try SessionKeys.derive(secret: secret, serverRandom: random, helloPayload: hello)
        let info = Array("laboratory v1 session keys".utf8) + SHA256.hash(hello)
        let okm = try HKDF.deriveKey(inputKeyMaterial: secret, salt: random, info: info, outputLength: 88)
        #expect(keys.clientToServerKey == Array(okm[0..<32]))
        #expect(keys.serverToClientKey == Array(okm[32..<64]))
        #expect(keys.clientToServerIV == Array(okm[64..<76]))
        #expect(keys.serverToClientIV == Array(okm[76..<88]))
    }

    @Test("Known answer computed with Python's cryptography package")
    func knownAnswer() throws {
        let random: [UInt8] = Array(32..<64)
        let hello = Array("LABR".utf8) + [0, 1, 0, 3] + Array("abc".utf8) + random
        let keys = try SessionKeys.derive(secret: Array(0..<32), serverRandom: random, helloPayload: hello)
        #expect(
            keys.clientToServerKey == bytes(hex: "e297a5333937cd5bf3416e2a794f2dd801ad637ff13ee5641dc6ea1a9a4f9dab"))
        #expect(
            keys.serverToClientKey == bytes(hex: "a206c65949a78f4429f26679f7476f73fd58e1b786d7dee3fe65ea50b1a175d3"))
        #expect(keys.clientToServerIV == bytes(hex: "6ec3dd43209936a00547b9b3"))
        #expect(keys.serverToClientIV == bytes(hex: "b8d4ca2b45c294478949abb9"))
    }

    @Test("The keys are bound to the whole hello, the random and the secret")
    func transcriptBinding() throws {
        let secret = try SecureRandom.bytes(count: 32)
        let random = try SecureRandom.bytes(count: 32)
        let hello = Fixtures.hello(transportSPKI: [1, 2, 3], random: random).encoded()
        let keys = try SessionKeys.derive(secret: secret, serverRandom: random, helloPayload: hello)
        var otherHello = hello
        otherHello[7] ^= 1
        #expect(try SessionKeys.derive(secret: secret, serverRandom: random, helloPayload: otherHello) != keys)
        var otherRandom = random
        otherRandom[0] ^= 1
        #expect(try SessionKeys.derive(secret: secret, serverRandom: otherRandom, helloPayload: hello) != keys)
        var otherSecret = secret
        otherSecret[31] ^= 1
        #expect(try SessionKeys.derive(secret: otherSecret, serverRandom: random, helloPayload: hello) != keys)
        #expect(try SessionKeys.derive(secret: secret, serverRandom: random, helloPayload: hello) == keys)
    }
}
