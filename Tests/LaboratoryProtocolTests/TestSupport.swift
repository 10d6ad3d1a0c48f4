import Foundation
import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

/// The keys and values the suites share; the keys come from ``TestKeys``, generated once.
enum Fixtures {
    /// The transport key.
    static var privateKey: RSAPrivateKey { TestKeys.transport }
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
    static var identityKey: RSAPrivateKey { TestKeys.identity }

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

    /// A hello that names the transport key itself as its identity, with ``transportOffer``'s
    /// certificate: signed by another key than the one it claims, so a client must refuse it.
    static var forgedHello: [UInt8] {
        ServerHello(
            identityKeySPKI: privateKey.publicKey.spkiDER, transportKey: transportOffer.certificate,
            serverRandom: Array(repeating: 7, count: 32)
        ).encoded()
    }

    /// A hello whose transport key is `transportSPKI` (certificate fields otherwise arbitrary).
    static func hello(transportSPKI: [UInt8], random: [UInt8]) -> ServerHello {
        ServerHello(
            identityKeySPKI: identityKey.publicKey.spkiDER,
            transportKey: TransportKeyCertificate(
                transportKeySPKI: transportSPKI, notBefore: 1, notAfter: 2, signature: [9, 9]),
            serverRandom: random)
    }
}
