import LaboratoryCrypto
import Testing

@testable import LaboratoryLegacy

@Suite("Legacy key encoding (PKCS#1 PEM)")
struct LegacyKeyEncodingTests {
    @Test("PKCS#1 public PEM round-trips and is what openssl calls an RSA PUBLIC KEY")
    func pkcs1RoundTrip() throws {
        let key = try RSAPrivateKey(bitCount: 2048)
        let pem = try key.publicKey.legacyPKCS1PEM
        #expect(pem.hasPrefix("-----BEGIN RSA PUBLIC KEY-----"))
        #expect(pem.split(separator: "\n").allSatisfy { $0.count <= 64 })
        let loaded = try RSAPublicKey(legacyPKCS1PEM: pem)
        #expect(loaded.spkiDER == key.publicKey.spkiDER)
    }

}
