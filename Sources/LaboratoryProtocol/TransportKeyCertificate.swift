@_spi(Benchmarks) import LaboratoryCrypto

/// A short-lived RSA transport key, certified by the server's long-term identity key.
///
/// The client encrypts its secret to the transport key, never to the identity key. The server
/// destroys each transport private key soon after it stops offering it, so a recorded session
/// cannot be decrypted later even with the identity key.
///
/// The signature is RSA-PSS-SHA256 (MGF1-SHA256, 32-byte salt) by the identity key over
/// `"laboratory v1 transport key"` ‖ u16 SPKI length ‖ transport SPKI DER ‖ u64 notBefore ‖
/// u64 notAfter, times in milliseconds since 1970 (UTC).
@_spi(Benchmarks) public struct TransportKeyCertificate: Hashable, Sendable {
    /// The signature's fixed prefix.
    public static let label: [UInt8] = Array("laboratory v1 transport key".utf8)

    /// The transport public key, DER SubjectPublicKeyInfo.
    public var transportKeySPKI: [UInt8]
    /// When the key becomes valid, in milliseconds since 1970.
    public var notBefore: UInt64
    /// When the key stops being valid, in milliseconds since 1970.
    public var notAfter: UInt64
    /// The identity key's signature over ``signedBytes``.
    public var signature: [UInt8]

    /// Creates a certificate from its fields (see ``issue(for:by:notBefore:notAfter:)`` to sign one).
    public init(transportKeySPKI: [UInt8], notBefore: UInt64, notAfter: UInt64, signature: [UInt8]) {
        self.transportKeySPKI = transportKeySPKI
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.signature = signature
    }

    /// Signs a certificate for `transportKey` valid from `notBefore` to `notAfter`.
    public static func issue(
        for transportKey: RSAPublicKey, by identity: RSAPrivateKey, notBefore: UInt64, notAfter: UInt64
    ) throws -> TransportKeyCertificate {
        var certificate = TransportKeyCertificate(
            transportKeySPKI: transportKey.spkiDER, notBefore: notBefore, notAfter: notAfter, signature: [])
        certificate.signature = try identity.signPSS(certificate.signedBytes)
        return certificate
    }

    /// The bytes the signature covers.
    public var signedBytes: [UInt8] {
        var writer = ByteWriter(capacity: 64 + transportKeySPKI.count)
        writer.write(raw: Self.label)
        writer.write(UInt16(transportKeySPKI.count))
        writer.write(raw: transportKeySPKI)
        writer.write(notBefore)
        writer.write(notAfter)
        return writer.bytes
    }

    /// Checks the validity window against `now` (ms since 1970), allowing `skew` milliseconds of
    /// clock difference either way (saturating: a skew of `UInt64.max` accepts any ordered window).
    /// Throws a ``ProtocolError`` saying what is wrong.
    public func checkValidity(now: UInt64, skew: UInt64) throws {
        func saturatingSum(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }
        guard notBefore <= notAfter, saturatingSum(now, skew) >= notBefore, now <= saturatingSum(notAfter, skew) else {
            throw ProtocolError(
                CloseReason(
                    .protocolViolation,
                    "the transport key is valid from \(notBefore) to \(notAfter) ms but it is now \(now) ms "
                        + "(check both clocks)"))
        }
    }

    /// Checks the signature against `identity` and the validity window against `now` (ms since
    /// 1970), allowing `skew` milliseconds of clock difference. Returns the transport key, or
    /// throws a ``ProtocolError`` saying what is wrong.
    public func verify(identity: RSAPublicKey, now: UInt64, skew: UInt64) throws -> RSAPublicKey {
        guard identity.verifyPSS(signature, for: signedBytes) else {
            throw ProtocolError(
                CloseReason(.protocolViolation, "the transport key is not signed by the server's identity key"))
        }
        try checkValidity(now: now, skew: skew)
        do {
            return try RSAPublicKey(spkiDER: transportKeySPKI)
        } catch {
            throw ProtocolError(CloseReason(.protocolViolation, "the transport key is unusable: \(error)"))
        }
    }
}
