import CLaboratorySSL

/// An RSA private key: generation, PKCS#8 PEM, and RSA-OAEP-SHA256 decryption.
public final class RSAPrivateKey: @unchecked Sendable {
    // Safety: as for RSAPublicKey, the EVP_PKEY is read-only after init and every operation uses
    // its own EVP_PKEY_CTX (the OAEP template is only duplicated, under its lock).
    let key: OpaquePointer

    /// The OAEP decryption context, prepared once and duplicated for each implicit-rejection
    /// decryption.
    private let oaepDecryption: OAEPContextTemplate

    /// The public half.
    public let publicKey: RSAPublicKey

    /// Modulus sizes this library accepts.
    public static let allowedBitCounts = 2048...4096

    /// Generates a new key with public exponent 65537.
    ///
    /// Takes tens of milliseconds at 2048 bits and up to seconds at 4096 on one core.
    public convenience init(bitCount: Int = 2048) throws {
        let operation = "RSA key generation"
        guard Self.allowedBitCounts.contains(bitCount) else {
            throw CryptoError.invalidArgument(operation, "\(bitCount) bits is outside 2048...4096")
        }
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        var generated: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bitCount)) == 1,
            EVP_PKEY_keygen(context, &generated) == 1,
            let generated
        else { throw CryptoError.openSSL(operation) }
        try self.init(taking: generated)
    }

    /// Loads a private key from PEM: PKCS#8 (`PRIVATE KEY`) or traditional (`RSA PRIVATE KEY`).
    ///
    /// Encrypted keys are refused: the passphrase callback declines at once, so OpenSSL never
    /// falls back to prompting on the controlling terminal.
    public convenience init(pem: String) throws {
        let parsed = try withMemoryBIO(pem) { PEM_read_bio_PrivateKey($0, nil, { _, _, _, _ in -1 }, nil) }
        guard let parsed else { throw CryptoError.openSSL("PEM private key decode") }
        try RSAPublicKey.checkRSA(parsed, "PEM private key decode")
        try self.init(taking: parsed)
    }

    private init(taking key: OpaquePointer) throws {
        var pointer: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(key, &pointer)
        guard length > 0, let pointer else {
            EVP_PKEY_free(key)
            throw CryptoError.openSSL("SPKI encode")
        }
        let der = Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
        CRYPTO_free(pointer, #fileID, #line)
        do {
            self.publicKey = try RSAPublicKey(spkiDER: der)
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        self.key = key
        self.oaepDecryption = OAEPContextTemplate(key: key, operation: .decrypt)
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// The modulus size in bits.
    public var bitCount: Int { publicKey.bitCount }

    /// The key as an unencrypted PKCS#8 PEM block (`-----BEGIN PRIVATE KEY-----`).
    public var pkcs8PEM: String {
        get throws {
            try pemString("PEM private key encode") {
                PEM_write_bio_PKCS8PrivateKey($0, key, nil, nil, 0, nil, nil)
            }
        }
    }

    /// Decrypts an RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) ciphertext.
    ///
    /// - Throws: ``CryptoError`` if the ciphertext has the wrong size or its padding does not check.
    @_spi(Benchmarks) public func decryptOAEP(_ ciphertext: [UInt8]) throws -> [UInt8] {
        try decrypt(ciphertext, operation: "RSA-OAEP decrypt", padding: configureOAEP)
    }

    /// Decrypts with the padding `padding` sets on the context.
    func decrypt(_ ciphertext: [UInt8], operation: String, padding: (OpaquePointer) -> Bool) throws -> [UInt8] {
        guard ciphertext.count == publicKey.ciphertextByteCount else {
            throw CryptoError.invalidArgument(
                operation, "ciphertext is \(ciphertext.count) bytes, expected \(publicKey.ciphertextByteCount)")
        }
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_decrypt_init(context) == 1, padding(context) else { throw CryptoError.openSSL(operation) }
        var length = ciphertext.count
        var output = [UInt8](repeating: 0, count: length)
        let status = output.withUnsafeMutableBufferPointer { out in
            ciphertext.withUnsafeBufferPointer {
                EVP_PKEY_decrypt(context, out.baseAddress, &length, $0.baseAddress, $0.count)
            }
        }
        guard status == 1 else { throw CryptoError.openSSL(operation) }
        return Array(output.prefix(length))
    }

    /// Decrypts an RSA-OAEP (SHA-256) ciphertext for implicit rejection: returns the plaintext
    /// when it is exactly `fallback.count` bytes long, and `fallback` in every other case.
    ///
    /// Unlike ``decryptOAEP(_:)`` it never builds an error: OpenSSL's error queue is cleared
    /// unread, and the result is selected with a mask rather than a branch, so a ciphertext whose
    /// padding does not check costs the same as one that decrypts to a secret the caller did not
    /// expect. Only the ciphertext's length, which is public, is checked before the private-key
    /// operation.
    package func decryptOAEP(_ ciphertext: [UInt8], orFallback fallback: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: publicKey.ciphertextByteCount)
        precondition(fallback.count <= output.count, "the fallback is longer than any OAEP plaintext")
        var length = 0
        var status: Int32 = 0
        if ciphertext.count == output.count, let context = oaepDecryption.context() {
            length = output.count
            status = output.withUnsafeMutableBufferPointer { out in
                ciphertext.withUnsafeBufferPointer {
                    EVP_PKEY_decrypt(context, out.baseAddress, &length, $0.baseAddress, $0.count)
                }
            }
            EVP_PKEY_CTX_free(context)
        }
        ERR_clear_error()
        let keep =
            equalityMask(UInt64(UInt32(bitPattern: status)), 1) & equalityMask(UInt64(length), UInt64(fallback.count))
        var result = [UInt8](repeating: 0, count: fallback.count)
        for index in result.indices {
            result[index] = (output[index] & keep) | (fallback[index] & ~keep)
        }
        for index in output.indices { output[index] = 0 }
        return result
    }
}

/// `0xFF` if `a == b`, else `0x00`, computed without a branch.
private func equalityMask(_ a: UInt64, _ b: UInt64) -> UInt8 {
    let difference = a ^ b
    // The top bit of `difference | -difference` is set exactly when `difference` is not zero.
    let differs = (difference | (0 &- difference)) >> 63
    return UInt8(truncatingIfNeeded: differs &- 1)
}
