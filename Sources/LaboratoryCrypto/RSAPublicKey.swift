import CLaboratorySSL

/// An RSA public key: SPKI DER and PEM encodings, RSA-OAEP-SHA256 encryption, and a fingerprint.
public final class RSAPublicKey: @unchecked Sendable {
    // Safety: the EVP_PKEY is never mutated after init; OpenSSL 3 allows concurrent use of a key
    // from several threads as long as each operation has its own EVP_PKEY_CTX, which we create.
    let key: OpaquePointer

    /// The key's DER-encoded SubjectPublicKeyInfo.
    @_spi(Benchmarks) public let spkiDER: [UInt8]

    /// The OAEP encryption context, prepared once and duplicated for each encryption, as
    /// ``RSAPrivateKey`` does for decryption: a client that connects many times to one server
    /// encrypts to the same transport key each time.
    private let oaepEncryption: OAEPContextTemplate

    init(taking key: OpaquePointer) throws {
        self.key = key
        self.oaepEncryption = OAEPContextTemplate(key: key, operation: .encrypt)
        var pointer: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(key, &pointer)
        guard length > 0, let pointer else {
            EVP_PKEY_free(key)
            throw CryptoError.openSSL("SPKI encode")
        }
        spkiDER = Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
        CRYPTO_free(pointer, #fileID, #line)
    }

    /// Loads a public key from DER-encoded SubjectPublicKeyInfo.
    ///
    /// - Throws: ``CryptoError`` if the bytes are not an SPKI, the key is not RSA, or its size is
    ///   outside ``RSAPrivateKey/allowedBitCounts``.
    @_spi(Benchmarks) public convenience init(spkiDER: [UInt8]) throws {
        let parsed = spkiDER.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw CryptoError.openSSL("SPKI decode") }
        try Self.checkRSA(parsed, "SPKI decode")
        try self.init(taking: parsed)
    }

    /// Loads a public key from a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo).
    public convenience init(pem: String) throws {
        let parsed = try withMemoryBIO(pem) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        guard let parsed else { throw CryptoError.openSSL("PEM public key decode") }
        try Self.checkRSA(parsed, "PEM public key decode")
        try self.init(taking: parsed)
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// The modulus size in bits.
    public var bitCount: Int { Int(EVP_PKEY_get_bits(key)) }

    /// The largest ciphertext (and the exact size of every ciphertext) this key produces, in bytes.
    package var ciphertextByteCount: Int { Int(EVP_PKEY_get_size(key)) }

    /// The key as a PEM `PUBLIC KEY` block.
    public var pem: String {
        get throws {
            try pemString("PEM public key encode") { PEM_write_bio_PUBKEY($0, key) }
        }
    }

    /// `SHA256:` followed by the unpadded base64 of the SHA-256 of the key's DER-encoded
    /// SubjectPublicKeyInfo, the form `ssh-keygen -l` prints.
    public var fingerprint: String { Self.fingerprint(ofSPKI: spkiDER) }

    /// The fingerprint of a DER-encoded SubjectPublicKeyInfo; see ``fingerprint``.
    package static func fingerprint(ofSPKI der: [UInt8]) -> String {
        "SHA256:" + Base64.encode(SHA256.hash(der), padding: false)
    }

    /// Encrypts `plaintext` with RSA-OAEP, SHA-256 as both the hash and the MGF1 hash, empty label.
    @_spi(Benchmarks) public func encryptOAEP(_ plaintext: [UInt8]) throws -> [UInt8] {
        let operation = "RSA-OAEP encrypt"
        guard let context = oaepEncryption.context() else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        return try encrypt(plaintext, operation: operation, with: context)
    }

    /// Encrypts with the padding `padding` sets on the context.
    func encrypt(_ plaintext: [UInt8], operation: String, padding: (OpaquePointer) -> Bool) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_encrypt_init(context) == 1, padding(context) else { throw CryptoError.openSSL(operation) }
        return try encrypt(plaintext, operation: operation, with: context)
    }

    /// Encrypts with a context already set up for encryption.
    private func encrypt(_ plaintext: [UInt8], operation: String, with context: OpaquePointer) throws -> [UInt8] {
        var length = ciphertextByteCount
        var output = [UInt8](repeating: 0, count: length)
        let status = output.withUnsafeMutableBufferPointer { out in
            plaintext.withUnsafeBufferPointer {
                EVP_PKEY_encrypt(context, out.baseAddress, &length, $0.baseAddress, $0.count)
            }
        }
        guard status == 1 else { throw CryptoError.openSSL(operation) }
        return Array(output.prefix(length))
    }

    static func checkRSA(_ key: OpaquePointer, _ operation: String) throws {
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
            EVP_PKEY_free(key)
            throw CryptoError.invalidArgument(operation, "the key is not an RSA key")
        }
        let bits = Int(EVP_PKEY_get_bits(key))
        guard RSAPrivateKey.allowedBitCounts.contains(bits) else {
            EVP_PKEY_free(key)
            throw CryptoError.invalidArgument(operation, "RSA key of \(bits) bits is outside 2048...4096")
        }
    }
}

/// Sets RSA-OAEP with SHA-256 and MGF1-SHA-256 on an encryption or decryption context.
func configureOAEP(_ context: OpaquePointer) -> Bool {
    EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1
        && EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) == 1
        && EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) == 1
}

/// Runs `body` with a read-only memory BIO over `text`.
func withMemoryBIO<T>(_ text: String, _ body: (OpaquePointer) throws -> T) throws -> T {
    var bytes = Array(text.utf8)
    return try bytes.withUnsafeMutableBufferPointer { buffer in
        guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
            throw CryptoError.openSSL("BIO_new_mem_buf")
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

/// Runs `write` against a fresh memory BIO and returns what it wrote as a string.
func pemString(_ operation: String, _ write: (OpaquePointer) -> Int32) throws -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.openSSL(operation) }
    defer { BIO_free(bio) }
    guard write(bio) == 1 else { throw CryptoError.openSSL(operation) }
    var data: UnsafeMutablePointer<CChar>? = nil
    let length = CLaboratorySSL_BIO_get_mem_data(bio, &data)
    guard length > 0, let data else { throw CryptoError.openSSL(operation) }
    return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
}
