import CLaboratorySSL

/// SHA-256 digests.
package enum SHA256 {
    /// The digest's size in bytes.
    package static let byteCount = 32

    /// Returns the SHA-256 digest of `data`. Uses the digest fetched once per process (see
    /// `FetchedAlgorithms`): `EVP_sha256()` would make OpenSSL 3 look it up on every call.
    package static func hash(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let status = data.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(
                    input.baseAddress, input.count, out.baseAddress, &length, FetchedAlgorithms.sha256 ?? EVP_sha256(),
                    nil)
            }
        }
        // EVP_Digest with a built-in algorithm and valid buffers cannot fail short of memory exhaustion.
        precondition(status == 1 && length == 32, "EVP_Digest(SHA-256) failed: \(CryptoError.drainErrorQueue())")
        return digest
    }
}
