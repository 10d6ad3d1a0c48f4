import CLaboratorySSL

/// The operating system's cryptographically secure random source, through OpenSSL's `RAND_bytes`.
@_spi(Benchmarks) public enum SecureRandom {
    /// Returns `count` random bytes.
    @_spi(Benchmarks) public static func bytes(count: Int) throws -> [UInt8] {
        precondition(count >= 0, "count must not be negative")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard status == 1 else { throw CryptoError.openSSL("RAND_bytes") }
        return output
    }

    /// A random 64-bit value.
    package static func uint64() throws -> UInt64 {
        try bytes(count: 8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Compares two byte strings in time that depends only on their lengths, never on their contents.
///
/// Lengths are not secret here: compare fixed-size digests when the length must stay hidden too.
package func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    guard !lhs.isEmpty else { return true }
    return lhs.withUnsafeBytes { l in
        rhs.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
    }
}
