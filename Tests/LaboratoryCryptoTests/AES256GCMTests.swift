import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryTestSupport
import Testing

/// A GCM known-answer vector (from "The Galois/Counter Mode of Operation", McGrew and Viega).
struct GCMVector: Sendable, CustomTestStringConvertible {
    var name: String
    var key: String
    var nonce: String
    var plaintext: String
    var aad: String
    /// Ciphertext followed by the 16-byte tag.
    var sealed: String

    var testDescription: String { name }
}

@Suite("AES-256-GCM")
struct AES256GCMTests {
    static let key15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let nonce15 = "cafebabefacedbaddecaf888"
    static let plaintext15 = """
        d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
        1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255
        """
    static let ciphertext15 = """
        522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
        8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad
        """

    static let vectors: [GCMVector] = [
        GCMVector(
            name: "test case 13 (empty plaintext)", key: String(repeating: "00", count: 32),
            nonce: String(repeating: "00", count: 12), plaintext: "", aad: "",
            sealed: "530f8afbc74536b9a963b4f1c4cb738b"),
        GCMVector(
            name: "test case 14 (one zero block)", key: String(repeating: "00", count: 32),
            nonce: String(repeating: "00", count: 12), plaintext: String(repeating: "00", count: 16), aad: "",
            sealed: "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919"),
        GCMVector(
            name: "test case 15 (four blocks)", key: key15, nonce: nonce15, plaintext: plaintext15, aad: "",
            sealed: ciphertext15 + "b094dac5d93471bdec1a502270e3cc6c"),
        GCMVector(
            name: "test case 16 (partial block, with AAD)", key: key15, nonce: nonce15,
            plaintext: String(plaintext15.prefix(120)), aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            sealed: String(ciphertext15.prefix(120)) + "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test("Seal matches the GCM spec vectors", arguments: vectors)
    func sealKnownAnswer(_ vector: GCMVector) throws {
        let sealer = try AES256GCM(key: bytes(hex: vector.key), direction: .seal)
        let sealed = try sealer.seal(
            bytes(hex: vector.plaintext), nonce: bytes(hex: vector.nonce), authenticating: bytes(hex: vector.aad))
        #expect(hex(sealed) == vector.sealed)
    }

    // The mirror of sealKnownAnswer, kept apart so that a failure names the direction that broke.
    @Test("Open recovers the GCM spec plaintexts", arguments: vectors)
    func openKnownAnswer(_ vector: GCMVector) throws {
        let opener = try AES256GCM(key: bytes(hex: vector.key), direction: .open)
        let opened = try opener.open(
            bytes(hex: vector.sealed), nonce: bytes(hex: vector.nonce), authenticating: bytes(hex: vector.aad))
        #expect(hex(opened) == vector.plaintext)
    }

    // MARK: - Tampering

    static let vector16 = vectors[3]

    /// Opens `sealed` with vector 16's parameters, overridden as given, and returns the error.
    private func openFailure(
        sealed: [UInt8]? = nil, key: [UInt8]? = nil, nonce: [UInt8]? = nil, aad: [UInt8]? = nil
    ) throws -> CryptoError {
        let vector = Self.vector16
        let opener = try AES256GCM(key: key ?? bytes(hex: vector.key), direction: .open)
        return try #require(throws: CryptoError.self) {
            try opener.open(
                sealed ?? bytes(hex: vector.sealed), nonce: nonce ?? bytes(hex: vector.nonce),
                authenticating: aad ?? bytes(hex: vector.aad))
        }
    }

    @Test("A flipped bit anywhere in the ciphertext or tag fails", arguments: [0, 7, 30, 59, 60, 67, 75])
    func flippedBit(at index: Int) throws {
        var sealed = bytes(hex: Self.vector16.sealed)
        #expect(sealed.count == 76)
        sealed[index] ^= 0x01 << UInt8(index % 8)
        let error = try openFailure(sealed: sealed)
        #expect(error.isSameKind(as: .authenticationFailure))
        #expect(error.operation == "AES-256-GCM open")
    }

    @Test("A wrong key fails")
    func wrongKey() throws {
        var key = bytes(hex: Self.vector16.key)
        key[31] ^= 0x80
        #expect(try openFailure(key: key).isSameKind(as: .authenticationFailure))
    }

    @Test("A wrong nonce fails")
    func wrongNonce() throws {
        var nonce = bytes(hex: Self.vector16.nonce)
        nonce[11] ^= 0x01
        #expect(try openFailure(nonce: nonce).isSameKind(as: .authenticationFailure))
    }

    @Test("Wrong or missing AAD fails", arguments: [[], [0xfe], Array(repeating: 0, count: 20)] as [[UInt8]])
    func wrongAAD(_ aad: [UInt8]) throws {
        #expect(try openFailure(aad: aad).isSameKind(as: .authenticationFailure))
    }

    @Test("A truncated message fails", arguments: [16, 40, 75])
    func truncated(to count: Int) throws {
        let sealed = Array(bytes(hex: Self.vector16.sealed).prefix(count))
        #expect(try openFailure(sealed: sealed).isSameKind(as: .authenticationFailure))
    }

    // MARK: - Argument checks

    @Test("Input shorter than the tag is refused", arguments: [0, 1, 15])
    func shortInput(_ count: Int) throws {
        let error = try openFailure(sealed: [UInt8](repeating: 0, count: count))
        #expect(error.isSameKind(as: .invalidArgumentFailure))
    }

    @Test("Keys that are not 32 bytes are refused", arguments: [0, 16, 24, 31, 33, 64])
    func wrongKeySize(_ count: Int) throws {
        for direction in [AES256GCM.Direction.seal, .open] {
            let error = try #require(throws: CryptoError.self) {
                try AES256GCM(key: [UInt8](repeating: 1, count: count), direction: direction)
            }
            #expect(error.isSameKind(as: .invalidArgumentFailure))
            #expect(error.description.contains("32 bytes"))
        }
    }

    @Test("Nonces that are not 12 bytes are refused", arguments: [0, 8, 11, 13, 16])
    func wrongNonceSize(_ count: Int) throws {
        let key = [UInt8](repeating: 7, count: 32)
        let nonce = [UInt8](repeating: 0, count: count)
        let sealError = try #require(throws: CryptoError.self) {
            try AES256GCM(key: key, direction: .seal).seal([1, 2, 3], nonce: nonce)
        }
        #expect(sealError.isSameKind(as: .invalidArgumentFailure))
        let openError = try #require(throws: CryptoError.self) {
            try AES256GCM(key: key, direction: .open).open([UInt8](repeating: 0, count: 32), nonce: nonce)
        }
        #expect(openError.isSameKind(as: .invalidArgumentFailure))
    }

    // MARK: - Context reuse

    @Test("One context reused for many messages matches fresh contexts, and survives failures")
    func contextReuse() throws {
        let key = try SecureRandom.bytes(count: 32)
        let sealer = try AES256GCM(key: key, direction: .seal)
        let opener = try AES256GCM(key: key, direction: .open)
        for round in 0..<200 {
            let nonce = try SecureRandom.bytes(count: 12)
            let plaintext = try SecureRandom.bytes(count: (round * 7) % 97)
            let aad = try SecureRandom.bytes(count: round % 3 == 0 ? 0 : round % 23)
            let sealed = try sealer.seal(plaintext, nonce: nonce, authenticating: aad)
            let fresh = try AES256GCM(key: key, direction: .seal).seal(plaintext, nonce: nonce, authenticating: aad)
            #expect(sealed == fresh, "round \(round)")
            if round % 5 == 0 {
                // A failed open must not leave state behind that breaks the next one.
                var tampered = sealed
                tampered[tampered.count - 1] ^= 0xff
                #expect(throws: CryptoError.self) { try opener.open(tampered, nonce: nonce, authenticating: aad) }
            }
            #expect(try opener.open(sealed, nonce: nonce, authenticating: aad) == plaintext, "round \(round)")
            let freshOpen = try AES256GCM(key: key, direction: .open).open(sealed, nonce: nonce, authenticating: aad)
            #expect(freshOpen == plaintext)
        }
    }

    @Test("Sealing the same plaintext under two nonces gives different ciphertexts")
    func nonceChangesOutput() throws {
        let sealer = try AES256GCM(key: [UInt8](repeating: 9, count: 32), direction: .seal)
        let plaintext = [UInt8](repeating: 0x41, count: 40)
        let a = try sealer.seal(plaintext, nonce: [UInt8](repeating: 0, count: 12))
        let b = try sealer.seal(plaintext, nonce: [UInt8](repeating: 0, count: 11) + [1])
        #expect(a.count == 56)
        #expect(a != b)
        #expect(Array(a.prefix(40)) != plaintext)
    }
}
