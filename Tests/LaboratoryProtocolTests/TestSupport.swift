import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Testing

/// RSA keys are slow to generate: the suites share one.
enum Fixtures {
    static let privateKey: RSAPrivateKey = {
        do { return try RSAPrivateKey(bitCount: 2048) } catch { fatalError("RSA key generation failed: \(error)") }
    }()
}

/// Decodes a hex string (whitespace ignored).
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Runs `body`, requires it to throw a ``ProtocolError``, and returns the close code.
func closeCode(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) throws -> CloseReason.Code {
    let error = try #require(throws: ProtocolError.self, sourceLocation: sourceLocation) { try body() }
    return error.closeReason.code
}

extension Fixtures {
    /// The long-term identity key that certifies ``privateKey`` as a transport key.
    static let identityKey: RSAPrivateKey = {
        do { return try RSAPrivateKey(bitCount: 2048) } catch { fatalError("RSA key generation failed: \(error)") }
    }()

    /// ``privateKey`` offered as a transport key, certified by ``identityKey`` for a day from now.
    static let transportOffer: TransportKeyOffer = {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        do {
            let certificate = try TransportKeyCertificate.issue(
                for: privateKey.publicKey, by: identityKey, notBefore: now - 60_000, notAfter: now + 86_400_000)
            return TransportKeyOffer(privateKey: privateKey, certificate: certificate)
        } catch {
            fatalError("certifying the transport key failed: \(error)")
        }
    }()

    /// A hello whose transport key is `transportSPKI` (certificate fields otherwise arbitrary).
    static func hello(transportSPKI: [UInt8], random: [UInt8]) -> ServerHello {
        ServerHello(
            identityKeySPKI: identityKey.publicKey.spkiDER,
            transportKey: TransportKeyCertificate(
                transportKeySPKI: transportSPKI, notBefore: 1, notAfter: 2, signature: [9, 9]),
            serverRandom: random)
    }
}
