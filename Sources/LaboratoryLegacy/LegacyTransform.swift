/// The original prototype's pluggable symmetric transform: every message, including its `\0`
/// terminator, passes through it, keyed by the key the client sent at connect.
///
/// A transform is a stream transform: it sees the bytes of one direction in order and may keep
/// state between calls. The prototype shipped the identity (the text travels in the clear);
/// implement this protocol to match a deployment that plugged in its own.
public protocol LegacyTransform: Sendable {
    /// Creates the per-direction state for a connection whose client sent `key` (possibly empty).
    func makeCodec(key: [UInt8]) -> any LegacyCodec
}

/// One direction's transform state.
public protocol LegacyCodec {
    /// Transforms bytes about to be sent.
    mutating func encode(_ bytes: [UInt8]) -> [UInt8]
    /// Reverses the transform on bytes received.
    mutating func decode(_ bytes: [UInt8]) -> [UInt8]
}

/// The prototype's default: bytes pass through unchanged, so the text travels in the clear.
public struct IdentityLegacyTransform: LegacyTransform {
    /// Creates the identity transform.
    public init() {}

    /// A codec that changes nothing.
    public func makeCodec(key: [UInt8]) -> any LegacyCodec { IdentityCodec() }

    private struct IdentityCodec: LegacyCodec {
        func encode(_ bytes: [UInt8]) -> [UInt8] { bytes }
        func decode(_ bytes: [UInt8]) -> [UInt8] { bytes }
    }
}
