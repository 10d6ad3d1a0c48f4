import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

@Suite("Key update")
struct KeyUpdateTests {
    @Test("nextKey is HKDF(secret, salt: current key, info: label, 44) split 32/12")
    func nextKeyLayout() throws {
        let update = try KeyUpdate.random(requestsUpdate: false)
        #expect(update.secret.count == 32)
        let current = try SecureRandom.bytes(count: 32)
        let next = try update.nextKey(after: current)
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: update.secret, salt: current, info: Array("laboratory v1 key update".utf8),
            outputLength: 44)
        #expect(next.key == Array(okm[0..<32]))
        #expect(next.iv == Array(okm[32..<44]))
        #expect(next.key != current)
    }

    @Test("Known answer computed with Python's cryptography package")
    func knownAnswer() throws {
        let update = KeyUpdate(secret: Array(0x40..<0x60), requestsUpdate: true)
        let next = try update.nextKey(after: Array(0x60..<0x80))
        #expect(next.key == bytes(hex: "156784147f3d12f0263a7b02acc637727ff2c1a94348a911baa95743367b6592"))
        #expect(next.iv == bytes(hex: "0250b8e468255ade25df5ba3"))
    }

    @Test("Two random updates have different secrets")
    func randomSecrets() throws {
        #expect(try KeyUpdate.random(requestsUpdate: true).secret != KeyUpdate.random(requestsUpdate: true).secret)
    }

    @Test("Sealer and opener switch together at the update frame; the counter restarts at 0")
    func switchInStep() throws {
        let session = try SessionPair()
        let sealer = session.clientSealer
        let opener = session.serverOpener
        for payload in [[1], [2, 2]] as [[UInt8]] { #expect(try opener.open(sealer.seal(payload)) == payload) }
        #expect(sealer.bytesSealed == 3)
        #expect(opener.bytesOpened == 3)

        let update = try KeyUpdate.random(requestsUpdate: false)
        let updateFrame = try sealer.seal(ClientMessage.keyUpdate(update).encoded())
        try sealer.apply(update)
        #expect(sealer.counter == 0)
        #expect(sealer.bytesSealed == 0)
        #expect(try ClientMessage(decoding: opener.open(updateFrame)) == .keyUpdate(update))
        try opener.apply(update)
        #expect(opener.counter == 0)
        #expect(opener.bytesOpened == 0)

        // Counter 0 again, but under the new key and IV: independently reproducible.
        let next = try update.nextKey(after: session.keys.clientToServerKey)
        let after = try sealer.seal([9, 9, 9])
        let reference = try AES256GCM(key: next.key, direction: .seal).seal([9, 9, 9], nonce: next.iv)
        #expect(after == reference)
        #expect(try opener.open(after) == [9, 9, 9])
        #expect(sealer.bytesSealed == 3)
    }

    @Test("An opener that did not apply the update cannot open later frames")
    func missedUpdate() throws {
        let session = try SessionPair()
        let update = try KeyUpdate.random(requestsUpdate: false)
        _ = try session.serverOpener.open(session.clientSealer.seal(ClientMessage.keyUpdate(update).encoded()))
        try session.clientSealer.apply(update)
        let frame = try session.clientSealer.seal([1, 2, 3])
        #expect(try closeCode { _ = try session.serverOpener.open(frame) } == .decryptionFailed)
    }

    @Test("A frame sealed with the old key after the switch does not open")
    func oldKeyRejected() throws {
        let session = try SessionPair()
        let stale = try RecordSealer(key: session.keys.clientToServerKey, iv: session.keys.clientToServerIV)
        let update = try KeyUpdate.random(requestsUpdate: false)
        _ = try stale.seal([0])
        _ = try session.serverOpener.open(session.clientSealer.seal(ClientMessage.keyUpdate(update).encoded()))
        try session.serverOpener.apply(update)
        // The stale sealer's next frame has counter 1 under the old key; even a counter-0 old frame fails.
        #expect(try closeCode { _ = try session.serverOpener.open(stale.seal([1])) } == .decryptionFailed)
        let oldZero = try RecordSealer(key: session.keys.clientToServerKey, iv: session.keys.clientToServerIV)
        #expect(try closeCode { _ = try session.serverOpener.open(oldZero.seal([1])) } == .decryptionFailed)
    }

    @Test("Updating one direction leaves the other untouched")
    func otherDirectionUnaffected() throws {
        let session = try SessionPair()
        let update = try KeyUpdate.random(requestsUpdate: true)
        try session.clientSealer.apply(update)
        try session.serverOpener.apply(update)
        #expect(try session.clientOpener.open(session.serverSealer.seal([4, 2])) == [4, 2])
        #expect(session.serverSealer.counter == 1)
    }

    @Test("Successive updates chain: each new key depends on the one before")
    func chained() throws {
        let update = KeyUpdate(secret: Array(repeating: 1, count: 32), requestsUpdate: false)
        let first = try update.nextKey(after: Array(repeating: 0, count: 32))
        let second = try update.nextKey(after: first.key)
        #expect(first.key != second.key)
        #expect(first.iv != second.iv)
    }
}
