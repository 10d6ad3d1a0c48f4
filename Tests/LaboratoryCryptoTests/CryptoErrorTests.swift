import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryTestSupport
import Testing

@Suite("CryptoError")
struct CryptoErrorTests {
    @Test("Kinds are distinct and ignore operation and reason")
    func kinds() throws {
        #expect(!CryptoError.openSSLFailure.isSameKind(as: .authenticationFailure))
        #expect(!CryptoError.openSSLFailure.isSameKind(as: .invalidArgumentFailure))
        #expect(!CryptoError.authenticationFailure.isSameKind(as: .invalidArgumentFailure))
        let error = try #require(throws: CryptoError.self) { try AES256GCM(key: [], direction: .seal) }
        #expect(error.isSameKind(as: .invalidArgumentFailure))
        #expect(error != .invalidArgumentFailure, "equality includes the operation and reason")
    }

    @Test("An OpenSSL failure names the operation and carries OpenSSL's reason")
    func openSSLReason() throws {
        let error = try #require(throws: CryptoError.self) { try RSAPrivateKey(pem: "garbage") }
        #expect(error.operation == "PEM private key decode")
        #expect(error.reason.contains("error:"), "OpenSSL's error strings start with error:<code>")
        #expect(error.description == "PEM private key decode failed: \(error.reason)")
    }

    @Test("An authentication failure explains itself without OpenSSL noise")
    func authenticationDescription() throws {
        let opener = try AES256GCM(key: [UInt8](repeating: 0, count: 32), direction: .open)
        let error = try #require(throws: CryptoError.self) {
            try opener.open([UInt8](repeating: 0, count: 20), nonce: [UInt8](repeating: 0, count: 12))
        }
        #expect(error.isSameKind(as: .authenticationFailure))
        #expect(error.description.hasPrefix("AES-256-GCM open failed: "))
        #expect(error.reason.contains("authentication tag did not verify"))
    }

    @Test("An invalid argument says what was wrong")
    func invalidArgumentDescription() throws {
        let error = try #require(throws: CryptoError.self) {
            try TestKeys.identity.decryptOAEP([1, 2, 3])
        }
        #expect(error.description == "RSA-OAEP decrypt failed: ciphertext is 3 bytes, expected 256")
    }

    @Test("OpenSSL's error queue is drained: one failure's reason does not leak into the next")
    func errorQueueDrained() throws {
        let pemError = try #require(throws: CryptoError.self) { try RSAPrivateKey(pem: "garbage") }
        #expect(pemError.reason.contains("PEM") || pemError.reason.contains("DECODER"))
        let garbage = [UInt8](repeating: 0x5a, count: 256)
        let rsaError = try #require(throws: CryptoError.self) { try TestKeys.identity.decryptOAEP(garbage) }
        #expect(!rsaError.reason.isEmpty)
        #expect(!rsaError.reason.contains("PEM"))
        #expect(!rsaError.reason.contains("DECODER"))
        let again = try #require(throws: CryptoError.self) { try TestKeys.identity.decryptOAEP(garbage) }
        #expect(again.reason == rsaError.reason)
    }
}
