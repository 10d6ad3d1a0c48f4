import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
import Testing

@Suite("Legacy RSA (prototype compatibility)")
struct LegacyRSATests {
    @Test("PKCS#1 public PEM round-trips and is what openssl calls an RSA PUBLIC KEY")
    func pkcs1RoundTrip() throws {
        let key = try RSAPrivateKey(bitCount: 2048)
        let pem = try key.publicKey.legacyPKCS1PEM
        #expect(pem.hasPrefix("-----BEGIN RSA PUBLIC KEY-----"))
        let loaded = try RSAPublicKey(legacyPKCS1PEM: pem)
        #expect(loaded.spkiDER == key.publicKey.spkiDER)
    }

    @Test("PKCS#1 v1.5 round trip, including an empty message (the prototype's empty key)")
    func pkcs1v15RoundTrip() throws {
        let key = try RSAPrivateKey(bitCount: 2048)
        for message in [[], Array("a symmetric key".utf8)] as [[UInt8]] {
            let ciphertext = try key.publicKey.legacyEncryptPKCS1v15(message)
            #expect(ciphertext.count == 256)
            #expect(try key.legacyDecryptPKCS1v15(ciphertext) == message)
        }
        #expect(throws: CryptoError.self) { try key.legacyDecryptPKCS1v15([UInt8](repeating: 1, count: 256)) }
    }
}
