import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Testing

@Suite("RSA PKCS#1 encodings and v1.5 padding")
struct RSAPKCS1Tests {
    @Test("PKCS#1 v1.5 round trip, including an empty message")
    func pkcs1v15RoundTrip() throws {
        let key = try RSAPrivateKey(bitCount: 2048)
        for message in [[], Array("a symmetric key".utf8)] as [[UInt8]] {
            let ciphertext = try key.publicKey.encryptPKCS1v15(message)
            #expect(ciphertext.count == 256)
            #expect(try key.decryptPKCS1v15(ciphertext) == message)
        }
        #expect(throws: CryptoError.self) { try key.decryptPKCS1v15([UInt8](repeating: 1, count: 256)) }
    }

    @Test("a PKCS#1 structure loads the same key, and only within the allowed sizes")
    func pkcs1DERSizes() throws {
        let key = try RSAPrivateKey(bitCount: 2048)
        let pkcs1 = try key.publicKey.pkcs1DER
        // The SPKI's BIT STRING carries the PKCS#1 structure whole, at its end.
        #expect(key.publicKey.spkiDER.suffix(pkcs1.count) == ArraySlice(pkcs1))
        #expect(try RSAPublicKey(pkcs1DER: pkcs1, allowedBitCounts: 1024...4096).spkiDER == key.publicKey.spkiDER)
        #expect(throws: CryptoError.self) { try RSAPublicKey(pkcs1DER: pkcs1, allowedBitCounts: 3072...4096) }
        #expect(throws: CryptoError.self) {
            try RSAPublicKey(pkcs1DER: Array(pkcs1.dropLast()), allowedBitCounts: 1024...4096)
        }
    }
}
