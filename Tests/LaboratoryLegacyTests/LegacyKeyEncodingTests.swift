import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
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

    @Test("a prototype key is read whatever its line breaks, and anything else is refused")
    func parsing() throws {
        let key = try RSAPrivateKey(bitCount: 2048)
        let pem = try key.publicKey.legacyPKCS1PEM
        let crlfNoFinalNewline = pem.replacingOccurrences(of: "\n", with: "\r\n").trimmingCharacters(in: .newlines)
        #expect(try RSAPublicKey(legacyPKCS1PEM: crlfNoFinalNewline).spkiDER == key.publicKey.spkiDER)
        #expect(throws: CryptoError.self) { try RSAPublicKey(legacyPKCS1PEM: key.publicKey.pem) }
        #expect(throws: CryptoError.self) {
            try RSAPublicKey(legacyPKCS1PEM: pem.replacingOccurrences(of: "M", with: "!"))
        }
    }
}
