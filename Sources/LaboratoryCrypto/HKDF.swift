import CLaboratorySSL

/// HKDF with SHA-256 (RFC 5869), extract then expand.
package enum HKDF {
    /// Derives `outputLength` bytes from input keying material, a salt and context information.
    ///
    /// - Throws: ``CryptoError`` when `outputLength` exceeds 255 × 32 bytes or OpenSSL fails.
    package static func deriveKey(
        inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8], outputLength: Int
    ) throws -> [UInt8] {
        let operation = "HKDF-SHA256"
        guard outputLength > 0, outputLength <= 255 * SHA256.byteCount else {
            throw CryptoError.invalidArgument(operation, "output length \(outputLength) is outside 1...8160")
        }
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_derive_init(context) == 1,
            EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()) == 1,
            salt.withUnsafeBufferPointer({ EVP_PKEY_CTX_set1_hkdf_salt(context, $0.baseAddress, Int32($0.count)) })
                == 1,
            inputKeyMaterial.withUnsafeBufferPointer({
                EVP_PKEY_CTX_set1_hkdf_key(context, $0.baseAddress, Int32($0.count))
            }) == 1,
            info.withUnsafeBufferPointer({ EVP_PKEY_CTX_add1_hkdf_info(context, $0.baseAddress, Int32($0.count)) })
                == 1
        else { throw CryptoError.openSSL(operation) }
        var output = [UInt8](repeating: 0, count: outputLength)
        var length = outputLength
        let status = output.withUnsafeMutableBufferPointer { EVP_PKEY_derive(context, $0.baseAddress, &length) }
        guard status == 1, length == outputLength else { throw CryptoError.openSSL(operation) }
        return output
    }
}
