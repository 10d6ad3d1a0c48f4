import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol

/// A hello from `identity` offering `transport`, certified by `signer` (by default `identity`)
/// for `valid`, counted from now, with a fresh server random: what a server, or an impostor,
/// would send.
package func certifiedHello(
    identity: RSAPrivateKey, transport: RSAPrivateKey, signer: RSAPrivateKey? = nil,
    valid: ClosedRange<Duration> = Duration.zero...Duration.seconds(60)
) throws -> ServerHello {
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    func milliseconds(_ offset: Duration) -> UInt64 { UInt64(now + Int64(offset / .milliseconds(1))) }
    let certificate = try TransportKeyCertificate.issue(
        for: transport.publicKey, by: signer ?? identity, notBefore: milliseconds(valid.lowerBound),
        notAfter: milliseconds(valid.upperBound))
    return ServerHello(
        identityKeySPKI: identity.publicKey.spkiDER, transportKey: certificate,
        serverRandom: try SecureRandom.bytes(count: 32))
}
