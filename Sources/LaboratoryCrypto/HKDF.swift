import CLaboratorySSL

/// HKDF with SHA-256 (RFC 5869), extract then expand.
///
/// Written over HMAC-SHA256 (`HMACSHA256`) rather than OpenSSL's HKDF: OpenSSL 3's HKDF fetches
/// its KDF, MAC and digest by name on every derivation, which cost a handshake about 100 k
/// instructions under callgrind, more than all the rest of its key schedule.
package enum HKDF {
    /// Derives `outputLength` bytes from input keying material, a salt and context information.
    ///
    /// - Throws: ``CryptoError`` when `outputLength` exceeds 255 × 32 bytes or OpenSSL fails.
    package static func deriveKey(
        inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8], outputLength: Int
    ) throws -> [UInt8] {
        let operation = "HKDF-SHA256"
        let hashLength = HMACSHA256.byteCount
        guard outputLength > 0, outputLength <= 255 * hashLength else {
            throw CryptoError.invalidArgument(operation, "output length \(outputLength) is outside 1...8160")
        }
        // Extract (§2.2): PRK = HMAC(salt, IKM), a salt not given being HashLen zeros.
        var pseudorandomKey = [UInt8](repeating: 0, count: hashLength)
        var block = [UInt8](repeating: 0, count: hashLength)
        defer {
            pseudorandomKey.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
            block.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
        }
        let saltKey = salt.isEmpty ? [UInt8](repeating: 0, count: hashLength) : salt
        // One context for all the MACs: each `start` re-keys it without allocating.
        let mac = try HMACSHA256(operation: operation)
        try mac.start(key: saltKey)
        try inputKeyMaterial.withUnsafeBytes { try mac.update($0) }
        try pseudorandomKey.withUnsafeMutableBytes { try mac.finalize(into: $0) }
        // Expand (§2.3): T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty; the output is
        // T(1) | T(2) | ... cut to its length.
        var output = [UInt8](repeating: 0, count: outputLength)
        var written = 0
        var counter: UInt8 = 1
        while written < outputLength {
            try mac.start(key: pseudorandomKey)
            if counter > 1 { try block.withUnsafeBytes { try mac.update($0) } }
            try info.withUnsafeBytes { try mac.update($0) }
            try withUnsafeBytes(of: counter) { try mac.update($0) }
            try block.withUnsafeMutableBytes { try mac.finalize(into: $0) }
            let count = min(hashLength, outputLength - written)
            output[written..<(written + count)] = block[0..<count]
            written += count
            counter &+= 1
        }
        return output
    }
}
