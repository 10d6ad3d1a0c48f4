import CLaboratorySSL

/// RSA-PSS signatures with SHA-256, MGF1-SHA-256 and a 32-byte salt (the digest length).
extension RSAPrivateKey {
    /// Signs `message` with RSA-PSS-SHA256.
    package func signPSS(_ message: [UInt8]) throws -> [UInt8] {
        let operation = "RSA-PSS sign"
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL(operation) }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        guard EVP_DigestSignInit(context, &keyContext, EVP_sha256(), nil, key) == 1, let keyContext,
            configurePSS(keyContext)
        else { throw CryptoError.openSSL(operation) }
        var length = 0
        guard message.withUnsafeBufferPointer({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }) == 1
        else { throw CryptoError.openSSL(operation) }
        var signature = [UInt8](repeating: 0, count: length)
        let status = signature.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer {
                EVP_DigestSign(context, out.baseAddress, &length, $0.baseAddress, $0.count)
            }
        }
        guard status == 1 else { throw CryptoError.openSSL(operation) }
        return Array(signature.prefix(length))
    }
}

extension RSAPublicKey {
    /// Whether `signature` is a valid RSA-PSS-SHA256 signature of `message` by this key. Any
    /// malformed input is simply not valid.
    package func verifyPSS(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        guard EVP_DigestVerifyInit(context, &keyContext, EVP_sha256(), nil, key) == 1, let keyContext,
            configurePSS(keyContext)
        else {
            _ = CryptoError.drainErrorQueue()
            return false
        }
        let status = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer {
                EVP_DigestVerify(context, sig.baseAddress, sig.count, $0.baseAddress, $0.count)
            }
        }
        _ = CryptoError.drainErrorQueue()
        return status == 1
    }
}

/// PSS padding, MGF1-SHA-256, salt length equal to the digest length.
private func configurePSS(_ context: OpaquePointer) -> Bool {
    EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) == 1
        && EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) == 1
        && EVP_PKEY_CTX_set_rsa_pss_saltlen(context, 32) == 1
}
