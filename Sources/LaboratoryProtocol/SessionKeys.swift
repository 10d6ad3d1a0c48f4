@_spi(Benchmarks) import LaboratoryCrypto

/// The per-direction keys and IVs of a session, derived with HKDF-SHA256.
///
/// `HKDF(ikm: secret, salt: server random, info: "laboratory v1 session keys" || SHA-256(hello),
/// L: 88)` split in order into the client-to-server key (32), the server-to-client key (32), the
/// client-to-server IV (12) and the server-to-client IV (12).
@_spi(Benchmarks) public struct SessionKeys: Hashable, Sendable {
    /// Size of the client's secret.
    public static let secretByteCount = 32
    /// The fixed prefix of the HKDF info.
    public static let infoLabel: [UInt8] = Array("laboratory v1 session keys".utf8)

    /// The key sealing client-to-server frames.
    public var clientToServerKey: [UInt8]
    /// The key sealing server-to-client frames.
    public var serverToClientKey: [UInt8]
    /// The IV of client-to-server nonces.
    public var clientToServerIV: [UInt8]
    /// The IV of server-to-client nonces.
    public var serverToClientIV: [UInt8]

    /// Derives the keys from the client's secret and the exact hello payload the server sent.
    public static func derive(secret: [UInt8], serverRandom: [UInt8], helloPayload: [UInt8]) throws -> SessionKeys {
        precondition(secret.count == secretByteCount, "the secret must be 32 bytes")
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: secret, salt: serverRandom, info: infoLabel + SHA256.hash(helloPayload),
            outputLength: 88)
        return SessionKeys(
            clientToServerKey: Array(okm[0..<32]), serverToClientKey: Array(okm[32..<64]),
            clientToServerIV: Array(okm[64..<76]), serverToClientIV: Array(okm[76..<88]))
    }
}
