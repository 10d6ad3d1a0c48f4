import CLaboratorySSL

// The original prototype's wire format: PKCS#1 ("RSA PUBLIC KEY") PEM public keys and RSA
// PKCS#1 v1.5 encryption, as Python's `rsa` package does them. Only the opt-in legacy listener
// and the client's legacy mode use these; protocol v1 never does.

extension RSAPublicKey {
    /// Loads a public key from a PKCS#1 PEM block (`-----BEGIN RSA PUBLIC KEY-----`), the form the
    /// prototype sends. Keys from 1024 bits are accepted, unlike everywhere else in this library.
    public convenience init(legacyPKCS1PEM pem: String) throws {
        let operation = "PKCS#1 public key decode"
        var key: OpaquePointer? = nil
        guard
            let decoder = OSSL_DECODER_CTX_new_for_pkey(
                &key, "PEM", "type-specific", "RSA", CLaboratorySSL_EVP_PKEY_PUBLIC_KEY(), nil, nil)
        else { throw CryptoError.openSSL(operation) }
        defer { OSSL_DECODER_CTX_free(decoder) }
        var bytes = Array(pem.utf8)
        let status = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var pointer: UnsafePointer<UInt8>? = UnsafePointer(buffer.baseAddress)
            var length = buffer.count
            return OSSL_DECODER_from_data(decoder, &pointer, &length)
        }
        guard status == 1, let key else { throw CryptoError.openSSL(operation) }
        // Prototype servers may use keys below v1's 2048-bit floor; accept 1024 and up here only.
        guard Int(EVP_PKEY_get_bits(key)) >= 1024, Int(EVP_PKEY_get_bits(key)) <= 4096 else {
            let bits = EVP_PKEY_get_bits(key)
            EVP_PKEY_free(key)
            throw CryptoError.invalidArgument(operation, "RSA key of \(bits) bits is outside 1024...4096")
        }
        try self.init(taking: key)
    }

    /// The key as a PKCS#1 PEM block (`-----BEGIN RSA PUBLIC KEY-----`): the `RSAPublicKey`
    /// structure carried inside the SubjectPublicKeyInfo's BIT STRING.
    public var legacyPKCS1PEM: String {
        get throws {
            let pkcs1 = try Self.rsaPublicKeyDER(inSPKI: spkiDER)
            let body = Base64.encode(pkcs1)
            var lines = ["-----BEGIN RSA PUBLIC KEY-----"]
            var index = body.startIndex
            while index < body.endIndex {
                let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
                lines.append(String(body[index..<end]))
                index = end
            }
            lines.append("-----END RSA PUBLIC KEY-----")
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// Extracts the PKCS#1 `RSAPublicKey` DER from `SEQUENCE { AlgorithmIdentifier, BIT STRING }`.
    static func rsaPublicKeyDER(inSPKI der: [UInt8]) throws -> [UInt8] {
        func element(at start: Int, in bytes: [UInt8]) throws -> (tag: UInt8, content: Range<Int>) {
            guard start + 2 <= bytes.count else { throw CryptoError.invalidArgument("SPKI parse", "truncated") }
            var index = start + 1
            var length = Int(bytes[index])
            index += 1
            if length & 0x80 != 0 {
                let count = length & 0x7F
                guard count <= 4, index + count <= bytes.count else {
                    throw CryptoError.invalidArgument("SPKI parse", "bad length")
                }
                length = bytes[index..<index + count].reduce(0) { $0 << 8 | Int($1) }
                index += count
            }
            guard index + length <= bytes.count else { throw CryptoError.invalidArgument("SPKI parse", "truncated") }
            return (bytes[start], index..<index + length)
        }
        let outer = try element(at: 0, in: der)
        let algorithm = try element(at: outer.content.lowerBound, in: der)
        let bitString = try element(at: algorithm.content.upperBound, in: der)
        guard outer.tag == 0x30, algorithm.tag == 0x30, bitString.tag == 0x03, !bitString.content.isEmpty,
            der[bitString.content.lowerBound] == 0
        else { throw CryptoError.invalidArgument("SPKI parse", "not an RSA SubjectPublicKeyInfo") }
        return Array(der[(bitString.content.lowerBound + 1)..<bitString.content.upperBound])
    }

    /// Encrypts with RSA PKCS#1 v1.5 padding, as the prototype's clients do. Not for protocol v1.
    public func legacyEncryptPKCS1v15(_ plaintext: [UInt8]) throws -> [UInt8] {
        try encrypt(plaintext, operation: "RSA PKCS#1 v1.5 encrypt", padding: configurePKCS1v15)
    }
}

extension RSAPrivateKey {
    /// Decrypts RSA PKCS#1 v1.5 padding, as the prototype's server does. Callers must not reveal
    /// whether this failed (padding oracles): the legacy listener carries on with a random key.
    public func legacyDecryptPKCS1v15(_ ciphertext: [UInt8]) throws -> [UInt8] {
        try decrypt(ciphertext, operation: "RSA PKCS#1 v1.5 decrypt", padding: configurePKCS1v15)
    }
}

private func configurePKCS1v15(_ context: OpaquePointer) -> Bool {
    EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
}
