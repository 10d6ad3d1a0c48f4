import CLaboratorySSL

/// AES-256-GCM for one direction of a channel, keeping one OpenSSL cipher context for its lifetime.
///
/// The key schedule is computed once in `init`; each ``seal(_:nonce:authenticating:)`` or
/// ``open(_:nonce:authenticating:)`` only sets the nonce, which keeps the per-frame path free of
/// context allocation. An instance is not thread-safe: give each direction its own.
@_spi(Benchmarks) public final class AES256GCM {
    /// Key size in bytes.
    package static let keyByteCount = 32
    /// Nonce size in bytes.
    package static let nonceByteCount = 12
    /// Authentication tag size in bytes, appended to every sealed message.
    @_spi(Benchmarks) public static let tagByteCount = 16

    /// Whether this context seals or opens.
    package enum Direction: Sendable {
        /// Encrypt and tag.
        case seal
        /// Verify and decrypt.
        case open
    }

    private let context: OpaquePointer
    private let direction: Direction

    /// Creates a context for `direction` with a 32-byte key.
    package init(key: [UInt8], direction: Direction) throws {
        let operation = "AES-256-GCM init"
        guard key.count == Self.keyByteCount else {
            throw CryptoError.invalidArgument(operation, "key must be 32 bytes, got \(key.count)")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL(operation) }
        // The cipher fetched once per process: `EVP_aes_256_gcm()` is looked up on every init.
        let cipher = FetchedAlgorithms.aes256GCM ?? EVP_aes_256_gcm()
        let status = key.withUnsafeBufferPointer { key in
            switch direction {
            case .seal: EVP_EncryptInit_ex(context, cipher, nil, key.baseAddress, nil)
            case .open: EVP_DecryptInit_ex(context, cipher, nil, key.baseAddress, nil)
            }
        }
        guard status == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw CryptoError.openSSL(operation)
        }
        self.context = context
        self.direction = direction
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `plaintext` and returns the ciphertext followed by the 16-byte tag.
    package func seal(_ plaintext: [UInt8], nonce: [UInt8], authenticating aad: [UInt8] = []) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + Self.tagByteCount)
        try plaintext.withUnsafeBytes { plaintext in
            try nonce.withUnsafeBytes { nonce in
                try aad.withUnsafeBytes { aad in
                    try output.withUnsafeMutableBytes { output in
                        try seal(plaintext, nonce: nonce, authenticating: aad, into: output)
                    }
                }
            }
        }
        return output
    }

    /// Encrypts `plaintext` into `output`, which must be exactly `plaintext.count + 16` bytes: the
    /// ciphertext, then the tag. For callers that seal straight into the buffer they send, with no
    /// intermediate array.
    package func seal(
        _ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        authenticating aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        try seal(
            head: plaintext, body: UnsafeRawBufferPointer(start: nil, count: 0), nonce: nonce, authenticating: aad,
            into: output)
    }

    /// Verifies and decrypts `sealed` (ciphertext followed by the tag) and returns the plaintext.
    ///
    /// - Throws: ``CryptoError/authenticationFailure`` when the tag does not verify.
    package func open(_ sealed: [UInt8], nonce: [UInt8], authenticating aad: [UInt8] = []) throws -> [UInt8] {
        try sealed.withUnsafeBytes { sealed in
            try nonce.withUnsafeBytes { nonce in
                try aad.withUnsafeBytes { aad in try open(sealed, nonce: nonce, authenticating: aad) }
            }
        }
    }

    /// Verifies and decrypts `sealed` (ciphertext followed by the tag) read in place, for callers
    /// that hold the frame in a buffer of their own, and returns the plaintext.
    ///
    /// - Throws: ``CryptoError/authenticationFailure`` when the tag does not verify.
    package func open(
        _ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        authenticating aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) throws -> [UInt8] {
        guard sealed.count >= Self.tagByteCount else {
            throw CryptoError.invalidArgument("AES-256-GCM open", "sealed message is shorter than its 16-byte tag")
        }
        return try [UInt8](unsafeUninitializedCapacity: sealed.count - Self.tagByteCount) { output, initialized in
            // Zeroed first: `open(into:)` writes every byte, but an early throw must not leave the
            // uninitialized memory to the array's deinitialization.
            output.initialize(repeating: 0)
            initialized = output.count
            try open(sealed, nonce: nonce, authenticating: aad, into: UnsafeMutableRawBufferPointer(output))
        }
    }

    /// Calls `body` with a one-entry parameter list naming the 16-byte tag at `tag`. Reading or
    /// setting the tag this way costs OpenSSL 3 about 100 instructions less per record than
    /// `EVP_CIPHER_CTX_ctrl`, which builds the same list and then looks the control up.
    private func withTagParameter(_ tag: UnsafeMutableRawPointer, _ body: (UnsafeMutablePointer<OSSL_PARAM>) -> Int32)
        -> Int32
    {
        withUnsafeTemporaryAllocation(of: OSSL_PARAM.self, capacity: 2) { parameters in
            parameters[0] = OSSL_PARAM_construct_octet_string(Self.tagParameterName, tag, Self.tagByteCount)
            parameters[1] = OSSL_PARAM_construct_end()
            return body(parameters.baseAddress!)
        }
    }

    /// Sets the 12-byte nonce for the next record.
    ///
    /// `EVP_EncryptInit_ex` or `EVP_DecryptInit_ex` with only an IV costs OpenSSL 3 about 800
    /// instructions, most of them asking the provider for the IV's length through a parameter
    /// lookup on every call. The GCM provider's "restore the whole IV" form of
    /// `OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED` (the length `SIZE_MAX`, which is what
    /// `EVP_CTRL_GCM_SET_IV_FIXED` with -1 passes, and has meant since OpenSSL 1.0.1) sets the same
    /// 12 bytes, in the same state, for about 340: the next update starts a fresh message under
    /// that nonce (the same ciphertext and tag, byte for byte; Docs/PERFORMANCE.md, round 2f). A
    /// provider that does not know it gets the initialization call instead.
    private func setNonce(_ nonce: UnsafeRawBufferPointer) -> Bool {
        let bytes = UnsafeMutableRawPointer(mutating: nonce.baseAddress!)
        let set = withUnsafeTemporaryAllocation(of: OSSL_PARAM.self, capacity: 2) { parameters in
            parameters[0] = OSSL_PARAM_construct_octet_string(Self.fixedIVParameterName, bytes, -1)
            parameters[1] = OSSL_PARAM_construct_end()
            return EVP_CIPHER_CTX_set_params(context, parameters.baseAddress!)
        }
        if set == 1 { return true }
        ERR_clear_error()
        let iv = nonce.baseAddress?.assumingMemoryBound(to: UInt8.self)
        return switch direction {
        case .seal: EVP_EncryptInit_ex(context, nil, nil, nil, iv) == 1
        case .open: EVP_DecryptInit_ex(context, nil, nil, nil, iv) == 1
        }
    }

    /// `OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED`, kept as one C string for the process's lifetime,
    /// as ``tagParameterName``.
    nonisolated(unsafe) private static let fixedIVParameterName: UnsafePointer<CChar> = cString("tlsivfixed")

    private static func cString(_ name: String) -> UnsafePointer<CChar> {
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: name.utf8.count + 1)
        name.withCString { storage.initialize(from: $0, count: name.utf8.count + 1) }
        return UnsafePointer(storage)
    }

    /// `OSSL_CIPHER_PARAM_AEAD_TAG`, kept as one C string for the process's lifetime. Written once
    /// before it is published and only read after, so sharing it across threads is safe.
    nonisolated(unsafe) private static let tagParameterName: UnsafePointer<CChar> = cString("tag")

    private func checkNonce(_ count: Int, _ operation: String) throws {
        guard count == Self.nonceByteCount else {
            throw CryptoError.invalidArgument(operation, "nonce must be 12 bytes, got \(count)")
        }
    }
}

// Forms for bodies that stay where they lie (Docs/PERFORMANCE.md, "Bulk"): sealed from two parts,
// opened into memory the caller owns.
extension AES256GCM {
    /// Encrypts `head` then `body` as one message (their concatenation) into `output`, which must
    /// be exactly `head.count + body.count + 16` bytes: the ciphertext, then the tag. Each part may
    /// lie exactly where its ciphertext goes (sealed in place, as a head written as plaintext into
    /// the frame buffer) or apart from `output`, never partly over it. So a response whose body
    /// stays in the buffer a service returned is sealed without being copied next to its head.
    package func seal(
        head: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        authenticating aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        let operation = "AES-256-GCM seal"
        precondition(direction == .seal, "seal called on an opening context")
        precondition(
            output.count == head.count + body.count + Self.tagByteCount, "output must be head + body + 16 bytes")
        try checkNonce(nonce.count, operation)
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard setNonce(nonce) else { throw CryptoError.openSSL(operation) }
        /// Encrypts `part` to `offset` in `output`, or only authenticates it (`offset` `nil`).
        func encrypt(_ part: UnsafeRawBufferPointer, at offset: Int?) throws {
            guard part.count > 0 else { return }
            var written: Int32 = 0
            guard
                EVP_EncryptUpdate(
                    context, offset.map { out + $0 }, &written, part.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    Int32(part.count)) == 1
            else { throw CryptoError.openSSL(operation) }
        }
        try encrypt(aad, at: nil)
        try encrypt(head, at: 0)
        try encrypt(body, at: head.count)
        let end = out + head.count + body.count
        var final: Int32 = 0
        guard EVP_EncryptFinal_ex(context, end, &final) == 1,
            withTagParameter(UnsafeMutableRawPointer(end), { EVP_CIPHER_CTX_get_params(context, $0) }) == 1
        else { throw CryptoError.openSSL(operation) }
    }

    /// Verifies and decrypts `sealed` (ciphertext followed by the tag) into `output`, which must be
    /// exactly `sealed.count - 16` bytes (for example the writable part of a buffer from the
    /// channel's allocator): no array, no zero-filling first. On failure `output` is wiped before
    /// this throws, so no unauthenticated plaintext is left behind.
    ///
    /// - Throws: ``CryptoError/authenticationFailure`` when the tag does not verify.
    package func open(
        _ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        authenticating aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        let operation = "AES-256-GCM open"
        precondition(direction == .open, "open called on a sealing context")
        try checkNonce(nonce.count, operation)
        guard sealed.count >= Self.tagByteCount else {
            throw CryptoError.invalidArgument(operation, "sealed message is shorter than its 16-byte tag")
        }
        let ciphertextCount = sealed.count - Self.tagByteCount
        precondition(output.count == ciphertextCount, "output must be the sealed message's size less 16 bytes")
        let input = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard setNonce(nonce) else { throw CryptoError.openSSL(operation) }
        var written: Int32 = 0
        if aad.count > 0 {
            guard
                EVP_DecryptUpdate(
                    context, nil, &written, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count))
                    == 1
            else { throw CryptoError.openSSL(operation) }
        }
        if ciphertextCount > 0 {
            guard EVP_DecryptUpdate(context, out, &written, input, Int32(ciphertextCount)) == 1 else {
                throw CryptoError.openSSL(operation)
            }
        }
        // OpenSSL only reads the tag; the C signature is not const.
        let tag = UnsafeMutableRawPointer(mutating: input + ciphertextCount)
        guard withTagParameter(tag, { EVP_CIPHER_CTX_set_params(context, $0) }) == 1 else {
            throw CryptoError.openSSL(operation)
        }
        var final: Int32 = 0
        guard EVP_DecryptFinal_ex(context, out.map { $0 + ciphertextCount }, &final) == 1 else {
            if ciphertextCount > 0 { OPENSSL_cleanse(output.baseAddress, output.count) }
            throw CryptoError.authentication(operation)
        }
    }
}
