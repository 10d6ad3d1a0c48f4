import LaboratoryCrypto
import Testing

/// A known-answer vector for HKDF-SHA256.
struct HKDFVector: Sendable, CustomTestStringConvertible {
    var name: String
    var inputKeyMaterial: [UInt8]
    var salt: [UInt8]
    var info: [UInt8]
    var outputKeyMaterial: String

    var testDescription: String { name }
}

@Suite("HKDF-SHA256")
struct HKDFTests {
    /// RFC 5869 appendix A, test cases 1 to 3 (the SHA-256 ones).
    static let rfc5869: [HKDFVector] = [
        HKDFVector(
            name: "RFC 5869 A.1 basic",
            inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22),
            salt: Array(0x00...0x0c),
            info: Array(0xf0...0xf9),
            outputKeyMaterial: """
                3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                34007208d5b887185865
                """),
        HKDFVector(
            name: "RFC 5869 A.2 long inputs",
            inputKeyMaterial: Array(0x00...0x4f),
            salt: Array(0x60...0xaf),
            info: Array(0xb0...0xff),
            outputKeyMaterial: """
                b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                cc30c58179ec3e87c14c01d5c1f3434f1d87
                """),
        HKDFVector(
            name: "RFC 5869 A.3 empty salt and info",
            inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22),
            salt: [],
            info: [],
            outputKeyMaterial: """
                8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                9d201395faa4b61a96c8
                """),
    ]

    @Test("RFC 5869 known answers", arguments: rfc5869)
    func knownAnswer(_ vector: HKDFVector) throws {
        let expected = bytes(hex: vector.outputKeyMaterial)
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: vector.inputKeyMaterial, salt: vector.salt, info: vector.info,
            outputLength: expected.count)
        #expect(hex(okm) == hex(expected))
    }

    @Test("A shorter output is a prefix of a longer one")
    func prefixProperty() throws {
        let vector = Self.rfc5869[1]
        let long = try HKDF.deriveKey(
            inputKeyMaterial: vector.inputKeyMaterial, salt: vector.salt, info: vector.info, outputLength: 82)
        let short = try HKDF.deriveKey(
            inputKeyMaterial: vector.inputKeyMaterial, salt: vector.salt, info: vector.info, outputLength: 17)
        #expect(short == Array(long.prefix(17)))
    }

    @Test("The largest output, 255 × 32 bytes, is allowed")
    func maximumOutput() throws {
        let okm = try HKDF.deriveKey(inputKeyMaterial: [1, 2, 3], salt: [], info: [], outputLength: 255 * 32)
        #expect(okm.count == 8160)
        // Not all zero: the output buffer was really filled.
        #expect(okm.contains { $0 != 0 })
    }

    @Test("Output lengths outside 1...8160 are refused", arguments: [0, -1, 8161, 100_000])
    func outputLengthOutOfRange(_ length: Int) throws {
        let error = try #require(throws: CryptoError.self) {
            try HKDF.deriveKey(inputKeyMaterial: [1], salt: [], info: [], outputLength: length)
        }
        #expect(error.isSameKind(as: .invalidArgumentFailure))
        #expect(error.operation == "HKDF-SHA256")
        #expect(error.description.contains("\(length)"))
    }
}
