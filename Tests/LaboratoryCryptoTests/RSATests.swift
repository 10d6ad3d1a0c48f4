import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryTestSupport
import Testing

@Suite("RSA keys and RSA-OAEP-SHA256")
struct RSATests {
    @Test("OAEP round trip", arguments: [2048, 4096])
    func oaepRoundTrip(bitCount: Int) throws {
        let key = bitCount == 2048 ? TestKeys.identity : try RSAPrivateKey(bitCount: bitCount)
        #expect(key.bitCount == bitCount)
        #expect(key.publicKey.bitCount == bitCount)
        #expect(key.publicKey.ciphertextByteCount == bitCount / 8)
        // The largest OAEP-SHA256 plaintext is k - 2·32 - 2 bytes.
        for plaintext in [
            [], [0x00], try SecureRandom.bytes(count: 32), try SecureRandom.bytes(count: bitCount / 8 - 66),
        ] {
            let ciphertext = try key.publicKey.encryptOAEP(plaintext)
            #expect(ciphertext.count == bitCount / 8)
            #expect(try key.decryptOAEP(ciphertext) == plaintext)
        }
    }

    @Test("OAEP is randomised: the same plaintext encrypts differently each time")
    func oaepIsRandomised() throws {
        let key = TestKeys.identity
        let secret = try SecureRandom.bytes(count: 32)
        let a = try key.publicKey.encryptOAEP(secret)
        let b = try key.publicKey.encryptOAEP(secret)
        #expect(a != b)
        #expect(try key.decryptOAEP(a) == key.decryptOAEP(b))
    }

    @Test("Implicit rejection: the plaintext when it has the expected size, otherwise the fallback")
    func oaepWithFallback() throws {
        let key = TestKeys.identity
        let secret = try SecureRandom.bytes(count: 32)
        let fallback = try SecureRandom.bytes(count: 32)
        #expect(key.decryptOAEP(try key.publicKey.encryptOAEP(secret), orFallback: fallback) == secret)
        var flipped = try key.publicKey.encryptOAEP(secret)
        flipped[17] ^= 0x01
        var belowModulus = try SecureRandom.bytes(count: 256)
        belowModulus[0] &= 0x7F
        for wrong in [
            flipped, belowModulus, [UInt8](repeating: 0xFF, count: 256), [], try SecureRandom.bytes(count: 100),
            try key.publicKey.encryptOAEP(try SecureRandom.bytes(count: 31)),
            try key.publicKey.encryptOAEP(try SecureRandom.bytes(count: 33)), try key.publicKey.encryptOAEP([]),
        ] {
            #expect(key.decryptOAEP(wrong, orFallback: fallback) == fallback)
        }
    }

    @Test(
        "Implicit rejection from many tasks at once on one key: each gets its own secret or the fallback",
        .timeLimit(.minutes(1)))
    func oaepWithFallbackConcurrently() async throws {
        // The key prepares one OAEP context and duplicates it for every decryption: decryptions
        // racing on it, wrong ones among them, must neither corrupt it nor mix up results.
        let key = try RSAPrivateKey(bitCount: 2048)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let secret = try SecureRandom.bytes(count: 32)
                    let fallback = try SecureRandom.bytes(count: 32)
                    var ciphertext = try key.publicKey.encryptOAEP(secret)
                    if index % 3 == 0 { ciphertext[40] ^= 0x80 }
                    let expected = index % 3 == 0 ? fallback : secret
                    return key.decryptOAEP(ciphertext, orFallback: fallback) == expected
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64)
        #expect(results.allSatisfy { $0 })
        // And the key still decrypts afterwards.
        let secret = try SecureRandom.bytes(count: 32)
        #expect(
            key.decryptOAEP(try key.publicKey.encryptOAEP(secret), orFallback: [UInt8](repeating: 0, count: 32))
                == secret)
    }

    @Test("A plaintext longer than OAEP allows is refused")
    func oaepPlaintextTooLong() throws {
        let tooLong = [UInt8](repeating: 1, count: 256 - 66 + 1)
        let error = try #require(throws: CryptoError.self) { try TestKeys.identity.publicKey.encryptOAEP(tooLong) }
        #expect(error.operation == "RSA-OAEP encrypt")
        #expect(!error.reason.isEmpty)
    }

    @Test("Two generated keys are different")
    func generatedKeysDiffer() throws {
        let other = try RSAPrivateKey(bitCount: 2048)
        #expect(other.publicKey.spkiDER != TestKeys.identity.publicKey.spkiDER)
        #expect(other.publicKey.fingerprint != TestKeys.identity.publicKey.fingerprint)
    }

    // MARK: - Encodings

    @Test("PKCS#8 private PEM round trip keeps the key")
    func privatePEMRoundTrip() throws {
        let key = TestKeys.identity
        let pem = try key.pkcs8PEM
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END PRIVATE KEY-----\n"))
        let reloaded = try RSAPrivateKey(pem: pem)
        #expect(reloaded.publicKey.spkiDER == key.publicKey.spkiDER)
        #expect(reloaded.bitCount == 2048)
        let secret = try SecureRandom.bytes(count: 32)
        #expect(try reloaded.decryptOAEP(key.publicKey.encryptOAEP(secret)) == secret)
        #expect(try key.decryptOAEP(reloaded.publicKey.encryptOAEP(secret)) == secret)
        #expect(try reloaded.pkcs8PEM == pem)
    }

    @Test("SPKI public PEM and DER round trips keep the key")
    func publicRoundTrip() throws {
        let key = TestKeys.identity
        let pem = try key.publicKey.pem
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(pem.hasSuffix("-----END PUBLIC KEY-----\n"))
        let fromPEM = try RSAPublicKey(pem: pem)
        let fromDER = try RSAPublicKey(spkiDER: key.publicKey.spkiDER)
        #expect(fromPEM.spkiDER == key.publicKey.spkiDER)
        #expect(fromDER.spkiDER == key.publicKey.spkiDER)
        #expect(fromPEM.fingerprint == key.publicKey.fingerprint)
        let secret = try SecureRandom.bytes(count: 32)
        #expect(try key.decryptOAEP(fromPEM.encryptOAEP(secret)) == secret)
        #expect(try key.decryptOAEP(fromDER.encryptOAEP(secret)) == secret)
    }

    // MARK: - Bad input

    @Test("Decrypting garbage of the right size throws instead of crashing")
    func garbageCiphertext() throws {
        let key = TestKeys.identity
        for _ in 0..<8 {
            let garbage = try SecureRandom.bytes(count: 256)
            let error = try #require(throws: CryptoError.self) { try key.decryptOAEP(garbage) }
            #expect(error.isSameKind(as: .openSSLFailure))
            #expect(error.operation == "RSA-OAEP decrypt")
        }
        // All-ones is larger than the modulus; zero is the smallest value.
        for edge in [[UInt8](repeating: 0xff, count: 256), [UInt8](repeating: 0, count: 256)] {
            #expect(throws: CryptoError.self) { try key.decryptOAEP(edge) }
        }
    }

    @Test("A tampered ciphertext does not decrypt")
    func tamperedCiphertext() throws {
        let key = TestKeys.identity
        var ciphertext = try key.publicKey.encryptOAEP(try SecureRandom.bytes(count: 32))
        ciphertext[100] ^= 0x04
        #expect(throws: CryptoError.self) { try key.decryptOAEP(ciphertext) }
    }

    @Test("Ciphertexts of the wrong size are refused", arguments: [0, 1, 255, 257, 512])
    func wrongSizeCiphertext(_ count: Int) throws {
        let error = try #require(throws: CryptoError.self) {
            try TestKeys.identity.decryptOAEP([UInt8](repeating: 1, count: count))
        }
        #expect(error.isSameKind(as: .invalidArgumentFailure))
        #expect(error.reason.contains("\(count) bytes"))
    }

    @Test(
        "Garbage PEM is refused with OpenSSL's reason",
        arguments: [
            "", "hello", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        ])
    func garbagePrivatePEM(_ pem: String) throws {
        let error = try #require(throws: CryptoError.self) { try RSAPrivateKey(pem: pem) }
        #expect(error.isSameKind(as: .openSSLFailure))
        #expect(error.operation == "PEM private key decode")
        #expect(!error.reason.isEmpty, "OpenSSL's error queue should explain the failure")
        #expect(error.description.hasPrefix("PEM private key decode failed: "))
    }

    @Test("Garbage public keys are refused")
    func garbagePublicKey() throws {
        let pemError = try #require(throws: CryptoError.self) { try RSAPublicKey(pem: "not a key") }
        #expect(pemError.operation == "PEM public key decode")
        #expect(!pemError.reason.isEmpty)
        let derError = try #require(throws: CryptoError.self) { try RSAPublicKey(spkiDER: [0x30, 0x03, 0x02, 0x01]) }
        #expect(derError.operation == "SPKI decode")
        #expect(throws: CryptoError.self) { try RSAPublicKey(spkiDER: []) }
        // A private key PEM is not a public key PEM, and vice versa.
        #expect(throws: CryptoError.self) { try RSAPublicKey(pem: try TestKeys.identity.pkcs8PEM) }
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: try TestKeys.identity.publicKey.pem) }
    }

    @Test("Generation outside 2048...4096 bits is refused", arguments: [0, 512, 1024, 2047, 4097, 8192])
    func generationSizeRefused(_ bitCount: Int) throws {
        let error = try #require(throws: CryptoError.self) { try RSAPrivateKey(bitCount: bitCount) }
        #expect(error.isSameKind(as: .invalidArgumentFailure))
        #expect(error.reason.contains("\(bitCount)"))
    }
}
