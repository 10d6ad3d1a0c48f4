@_spi(Benchmarks) import LaboratoryCrypto

/// A key change for one direction, sent over the already encrypted channel.
///
/// The sender seals this message with its current key, then seals every later frame with the new
/// key, starting again at counter 0. The receiver opens it with the current key and switches its
/// opener right after, so the switch happens exactly at this frame boundary and frames in the
/// other direction are unaffected. The new key and IV are
/// `HKDF(ikm: secret, salt: current key, info: "laboratory v1 key update", L: 44)` split 32/12.
///
/// Layout: secret (32 bytes), then one byte: 1 if the receiver should update its own sending
/// direction in reply (with a key update of its own that does not request one), else 0.
@_spi(Benchmarks) public struct KeyUpdate: Hashable, Sendable {
    /// The fresh random secret.
    public var secret: [UInt8]
    /// Whether the receiver should answer with a key update for its own direction.
    public var requestsUpdate: Bool

    /// The fixed HKDF info for key updates.
    public static let infoLabel: [UInt8] = Array("laboratory v1 key update".utf8)

    /// Creates a key update from a 32-byte secret.
    public init(secret: [UInt8], requestsUpdate: Bool) {
        precondition(secret.count == SessionKeys.secretByteCount, "a key update secret is 32 bytes")
        self.secret = secret
        self.requestsUpdate = requestsUpdate
    }

    /// A key update with a fresh random secret.
    public static func random(requestsUpdate: Bool) throws -> KeyUpdate {
        KeyUpdate(secret: try SecureRandom.bytes(count: SessionKeys.secretByteCount), requestsUpdate: requestsUpdate)
    }

    init(reading reader: inout ByteReader<[UInt8]>) throws {
        secret = try reader.readBytes(count: SessionKeys.secretByteCount, "key update secret")
        switch try reader.readUInt8("key update flag") {
        case 0: requestsUpdate = false
        case 1: requestsUpdate = true
        case let other: throw ProtocolError.malformed("key update flag must be 0 or 1, got \(other)")
        }
    }

    func encode(into writer: inout ByteWriter) {
        writer.write(raw: secret)
        writer.write(UInt8(requestsUpdate ? 1 : 0))
    }

    /// The next key and IV for a direction currently using `currentKey`.
    public func nextKey(after currentKey: [UInt8]) throws -> (key: [UInt8], iv: [UInt8]) {
        let okm = try HKDF.deriveKey(inputKeyMaterial: secret, salt: currentKey, info: Self.infoLabel, outputLength: 44)
        return (Array(okm[0..<32]), Array(okm[32..<44]))
    }
}
