import CLaboratorySSL

// RSA in its older encodings: PKCS#1 `RSA PUBLIC KEY` PEM and PKCS#1 v1.5 encryption padding.
// Protocol v1 never uses them; they are here because only this module may call OpenSSL.

extension RSAPublicKey {
    /// Loads a public key from a PKCS#1 `RSAPublicKey` structure (DER), parsed as the
    /// SubjectPublicKeyInfo that carries it.
    ///
    /// - Throws: ``CryptoError`` if the bytes do not decode or the key's size is outside
    ///   `allowedBitCounts`.
    package convenience init(pkcs1DER: [UInt8], allowedBitCounts: ClosedRange<Int>) throws {
        let operation = "PKCS#1 public key decode"
        let spki = Self.spkiDER(wrappingPKCS1: pkcs1DER)
        let parsed = spki.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw CryptoError.openSSL(operation) }
        let bits = Int(EVP_PKEY_get_bits(parsed))
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA, allowedBitCounts.contains(bits) else {
            EVP_PKEY_free(parsed)
            throw CryptoError.invalidArgument(
                operation,
                "RSA key of \(bits) bits is outside \(allowedBitCounts.lowerBound)...\(allowedBitCounts.upperBound)")
        }
        try self.init(taking: parsed)
    }

    /// `SEQUENCE { AlgorithmIdentifier rsaEncryption, BIT STRING { pkcs1 } }`.
    private static func spkiDER(wrappingPKCS1 pkcs1: [UInt8]) -> [UInt8] {
        func length(_ count: Int) -> [UInt8] {
            guard count >= 0x80 else { return [UInt8(count)] }
            let bytes = withUnsafeBytes(of: UInt32(count).bigEndian, Array.init).drop { $0 == 0 }
            return [0x80 | UInt8(bytes.count)] + bytes
        }
        let rsaEncryption: [UInt8] = [
            0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
        ]
        let bitString = [0x03] + length(pkcs1.count + 1) + [0x00] + pkcs1
        let content = rsaEncryption + bitString
        return [0x30] + length(content.count) + content
    }

    /// The key as a PKCS#1 `RSAPublicKey` structure (DER): the content of the
    /// SubjectPublicKeyInfo's BIT STRING.
    package var pkcs1DER: [UInt8] {
        get throws { try Self.rsaPublicKeyDER(inSPKI: spkiDER) }
    }

    /// Extracts the PKCS#1 `RSAPublicKey` DER from `SEQUENCE { AlgorithmIdentifier, BIT STRING }`.
    private static func rsaPublicKeyDER(inSPKI der: [UInt8]) throws -> [UInt8] {
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

    /// Encrypts with RSA PKCS#1 v1.5 padding. Not for protocol v1, which uses OAEP.
    package func encryptPKCS1v15(_ plaintext: [UInt8]) throws -> [UInt8] {
        try encrypt(plaintext, operation: "RSA PKCS#1 v1.5 encrypt", padding: configurePKCS1v15)
    }
}

extension RSAPrivateKey {
    /// Decrypts RSA PKCS#1 v1.5 padding. Callers must not reveal whether this failed (padding
    /// oracles): carry on with a random value instead.
    package func decryptPKCS1v15(_ ciphertext: [UInt8]) throws -> [UInt8] {
        try decrypt(ciphertext, operation: "RSA PKCS#1 v1.5 decrypt", padding: configurePKCS1v15)
    }
}

private func configurePKCS1v15(_ context: OpaquePointer) -> Bool {
    EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
}
