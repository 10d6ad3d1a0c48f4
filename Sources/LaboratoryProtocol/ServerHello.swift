import LaboratoryCrypto

/// The server's first frame, sent in plaintext: magic, version, RSA public key, server random.
///
/// Layout: `"LABR"` (4 bytes), version (u16, 1), SPKI DER length (u16), SPKI DER, random (32 bytes).
public struct ServerHello: Hashable, Sendable {
    /// The protocol magic, ASCII `LABR`.
    public static let magic: [UInt8] = Array("LABR".utf8)
    /// The protocol version this library speaks.
    public static let version: UInt16 = 1
    /// Size of the server random.
    public static let randomByteCount = 32

    /// The server's RSA public key as DER SubjectPublicKeyInfo.
    public var publicKeySPKI: [UInt8]
    /// 32 fresh random bytes, the HKDF salt.
    public var serverRandom: [UInt8]

    /// Creates a hello.
    public init(publicKeySPKI: [UInt8], serverRandom: [UInt8]) {
        precondition(serverRandom.count == Self.randomByteCount, "server random must be 32 bytes")
        self.publicKeySPKI = publicKeySPKI
        self.serverRandom = serverRandom
    }

    /// Parses a hello frame payload.
    ///
    /// - Throws: ``ProtocolError`` on a wrong magic, an unsupported version or malformed bytes.
    public init(decoding payload: [UInt8]) throws {
        var reader = ByteReader(payload)
        guard try reader.readBytes(count: 4, "magic") == Self.magic else {
            throw ProtocolError.malformed("hello does not start with the magic \"LABR\"; is this a Laboratory server?")
        }
        let version = try reader.readUInt16("version")
        guard version == Self.version else {
            throw ProtocolError(
                CloseReason(.unsupportedVersion, "server speaks protocol version \(version), this client speaks 1"))
        }
        let keyLength = Int(try reader.readUInt16("public key length"))
        publicKeySPKI = try reader.readBytes(count: keyLength, "public key")
        serverRandom = try reader.readBytes(count: Self.randomByteCount, "server random")
        try reader.expectEnd("hello")
    }

    /// The frame payload.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 40 + publicKeySPKI.count)
        writer.write(raw: Self.magic)
        writer.write(Self.version)
        writer.write(UInt16(publicKeySPKI.count))
        writer.write(raw: publicKeySPKI)
        writer.write(raw: serverRandom)
        return writer.bytes
    }
}
