@_spi(Benchmarks) import LaboratoryCrypto

/// The server's first frame, sent in plaintext: magic, version, the long-term identity key, a
/// certified short-lived transport key, and the server random.
///
/// Layout: `"LABR"` (4 bytes), version (u16, 1), identity SPKI (u16 length + DER), transport SPKI
/// (u16 length + DER), notBefore (u64 ms), notAfter (u64 ms), signature (u16 length + bytes),
/// server random (32 bytes). See ``TransportKeyCertificate`` for what the signature covers.
@_spi(Benchmarks) public struct ServerHello: Hashable, Sendable {
    /// The protocol magic, ASCII `LABR`.
    public static let magic: [UInt8] = Array("LABR".utf8)
    /// The protocol version this library speaks.
    public static let version: UInt16 = 1
    /// Size of the server random.
    public static let randomByteCount = 32

    /// The server's long-term identity key (the one clients pin) as DER SubjectPublicKeyInfo.
    public var identityKeySPKI: [UInt8]
    /// The transport key the client encrypts its secret to, with the identity key's signature.
    public var transportKey: TransportKeyCertificate
    /// 32 fresh random bytes, the HKDF salt.
    public var serverRandom: [UInt8]

    /// Creates a hello.
    public init(identityKeySPKI: [UInt8], transportKey: TransportKeyCertificate, serverRandom: [UInt8]) {
        precondition(serverRandom.count == Self.randomByteCount, "server random must be 32 bytes")
        self.identityKeySPKI = identityKeySPKI
        self.transportKey = transportKey
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
        identityKeySPKI = try reader.readBytes(count: Int(try reader.readUInt16("identity key length")), "identity key")
        let transportSPKI = try reader.readBytes(
            count: Int(try reader.readUInt16("transport key length")), "transport key")
        let notBefore = try reader.readUInt64("notBefore")
        let notAfter = try reader.readUInt64("notAfter")
        let signature = try reader.readBytes(count: Int(try reader.readUInt16("signature length")), "signature")
        transportKey = TransportKeyCertificate(
            transportKeySPKI: transportSPKI, notBefore: notBefore, notAfter: notAfter, signature: signature)
        serverRandom = try reader.readBytes(count: Self.randomByteCount, "server random")
        try reader.expectEnd("hello")
    }

    /// The frame payload.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + identityKeySPKI.count + 2 * transportKey.transportKeySPKI.count)
        writer.write(raw: Self.magic)
        writer.write(Self.version)
        writer.write(UInt16(identityKeySPKI.count))
        writer.write(raw: identityKeySPKI)
        writer.write(UInt16(transportKey.transportKeySPKI.count))
        writer.write(raw: transportKey.transportKeySPKI)
        writer.write(transportKey.notBefore)
        writer.write(transportKey.notAfter)
        writer.write(UInt16(transportKey.signature.count))
        writer.write(raw: transportKey.signature)
        writer.write(raw: serverRandom)
        return writer.bytes
    }
}
