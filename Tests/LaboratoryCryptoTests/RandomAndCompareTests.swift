import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryTestSupport
import Testing

/// A pair of byte strings and whether they are equal.
struct ComparisonCase: Sendable, CustomTestStringConvertible {
    var lhs: [UInt8]
    var rhs: [UInt8]
    var equal: Bool
    var testDescription: String { "\(lhs.count)/\(rhs.count) bytes → \(equal)" }
}

@Suite("constantTimeEquals, SecureRandom, SHA256, Base64")
struct RandomAndCompareTests {
    static let block: [UInt8] = Array(0..<32)
    static let comparisons: [ComparisonCase] = [
        ComparisonCase(lhs: [], rhs: [], equal: true),
        ComparisonCase(lhs: [0], rhs: [0], equal: true),
        ComparisonCase(lhs: [0], rhs: [1], equal: false),
        ComparisonCase(lhs: [], rhs: [0], equal: false),
        ComparisonCase(lhs: [0], rhs: [], equal: false),
        ComparisonCase(lhs: [1, 2], rhs: [1], equal: false),
        ComparisonCase(lhs: [1], rhs: [1, 2], equal: false),
        ComparisonCase(lhs: block, rhs: block, equal: true),
        ComparisonCase(lhs: block, rhs: [0xff] + block.dropFirst(), equal: false),
        ComparisonCase(lhs: block, rhs: block.dropLast() + [0xff], equal: false),
        ComparisonCase(lhs: block, rhs: block.reversed(), equal: false),
        ComparisonCase(lhs: block, rhs: block + [0], equal: false),
    ]

    @Test("constantTimeEquals truth table", arguments: comparisons)
    func constantTimeEqualsTable(_ comparison: ComparisonCase) {
        #expect(constantTimeEquals(comparison.lhs, comparison.rhs) == comparison.equal)
        #expect(constantTimeEquals(comparison.rhs, comparison.lhs) == comparison.equal)
    }

    @Test("SecureRandom returns exactly the requested count", arguments: [0, 1, 12, 32, 1000, 65_536])
    func randomCount(_ count: Int) throws {
        let random = try SecureRandom.bytes(count: count)
        #expect(random.count == count)
        if count >= 32 {
            // 32 or more zero bytes from a working generator has probability 2^-256.
            #expect(random.contains { $0 != 0 })
        }
    }

    @Test("Two SecureRandom calls differ")
    func randomDiffers() throws {
        #expect(try SecureRandom.bytes(count: 32) != SecureRandom.bytes(count: 32))
        #expect(try SecureRandom.uint64() != SecureRandom.uint64())
    }

    @Test("SHA-256 known answers (FIPS 180-2 examples)")
    func sha256KnownAnswers() {
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash(Array(repeating: 0x61, count: 1_000_000)).count == SHA256.byteCount)
        #expect(
            hex(SHA256.hash(Array(repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// RFC 4648 section 10.
    static let base64Vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("Base64 with padding matches RFC 4648", arguments: base64Vectors)
    func base64Padded(_ input: String, _ expected: String) {
        #expect(Base64.encode(Array(input.utf8)) == expected)
        #expect(Base64.encode(Array(input.utf8), padding: true) == expected)
    }

    @Test("Base64 without padding matches RFC 4648 with '=' removed", arguments: base64Vectors)
    func base64Unpadded(_ input: String, _ expected: String) {
        let unpadded = String(expected.filter { $0 != "=" })
        #expect(Base64.encode(Array(input.utf8), padding: false) == unpadded)
    }

    @Test("Base64 of bytes that need '+' and '/', and of a long input without line breaks")
    func base64Alphabet() {
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
        let long = Base64.encode([UInt8](repeating: 0, count: 300))
        #expect(long == String(repeating: "A", count: 400))
    }

    @Test("Fingerprint of a fixed SPKI: SHA256: then unpadded base64 of its digest")
    func fingerprintOfFixedBytes() {
        // SHA-256("") = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= in base64.
        #expect(RSAPublicKey.fingerprint(ofSPKI: []) == "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
        // SHA-256("abc") = ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= in base64.
        #expect(
            RSAPublicKey.fingerprint(ofSPKI: Array("abc".utf8)) == "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0")
    }
}
