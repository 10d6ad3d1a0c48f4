import CLaboratorySSL
import Synchronization

/// HMAC-SHA256 through OpenSSL's `EVP_MAC` interface, for `HKDF`.
///
/// Every context is a duplicate of one prepared context (HMAC with SHA-256, keyed with zeros so
/// that any OpenSSL 3 release can copy it): a duplicate carries the fetched digest, so keying it
/// looks nothing up by name, and re-keying it for the next MAC allocates nothing. Building a
/// context by name instead (what OpenSSL's own HKDF does on every call) fetches the MAC and the
/// digest each time.
struct HMACSHA256: ~Copyable {
    /// Size of the tag in bytes.
    static let byteCount = 32

    private let context: OpaquePointer
    /// The operation named in errors (the caller's, such as `"HKDF-SHA256"`).
    private let operation: String

    /// A context with no key yet: call `start(key:)` before feeding it.
    init(operation: String) throws {
        guard let context = Self.makeContext() else { throw CryptoError.openSSL(operation) }
        self.context = context
        self.operation = operation
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// Starts a new MAC keyed with `key`, whatever the context computed before: one context serves
    /// any number of MACs one after the other without allocating. `key` must not be empty (HMAC
    /// pads a key with zeros to the block size, so a caller with an empty key passes zeros).
    func start(key: [UInt8]) throws {
        precondition(!key.isEmpty, "an HMAC key of zero bytes is passed as zeros")
        guard key.withUnsafeBufferPointer({ EVP_MAC_init(context, $0.baseAddress, $0.count, nil) }) == 1 else {
            throw CryptoError.openSSL(operation)
        }
    }

    /// Feeds `bytes` to the MAC.
    func update(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard EVP_MAC_update(context, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count) == 1 else {
            throw CryptoError.openSSL(operation)
        }
    }

    /// Writes the 32-byte tag to `output`, which must be exactly 32 bytes.
    func finalize(into output: UnsafeMutableRawBufferPointer) throws {
        precondition(output.count == Self.byteCount, "an HMAC-SHA256 tag is 32 bytes")
        var length = 0
        guard
            EVP_MAC_final(
                context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, Self.byteCount) == 1,
            length == Self.byteCount
        else { throw CryptoError.openSSL(operation) }
    }

    /// A new context with SHA-256 set and no key yet: a duplicate of the prepared one, or (if it
    /// could not be prepared or copied) one built by name.
    private static func makeContext() -> OpaquePointer? {
        if let copy = template.withLock({ template in template.flatMap { EVP_MAC_CTX_dup($0) } }) { return copy }
        guard let mac = FetchedAlgorithms.hmac, let context = EVP_MAC_CTX_new(mac) else { return nil }
        guard setDigest(context) else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        return context
    }

    /// The prepared context, only ever duplicated (under the lock, as the OAEP template is).
    private static let template = Mutex<OpaquePointer?>(makeTemplate())

    private static func makeTemplate() -> OpaquePointer? {
        guard let mac = FetchedAlgorithms.hmac, let context = EVP_MAC_CTX_new(mac) else { return nil }
        let zeros = [UInt8](repeating: 0, count: byteCount)
        guard setDigest(context), EVP_MAC_init(context, zeros, zeros.count, nil) == 1 else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        return context
    }

    /// Sets the MAC's digest to SHA-256.
    private static func setDigest(_ context: OpaquePointer) -> Bool {
        "digest".withCString { name in
            "SHA256".withCString { digest in
                withUnsafeTemporaryAllocation(of: OSSL_PARAM.self, capacity: 2) { parameters in
                    // OpenSSL only reads the string; the C signature is not const.
                    parameters[0] = OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0)
                    parameters[1] = OSSL_PARAM_construct_end()
                    return EVP_MAC_CTX_set_params(context, parameters.baseAddress) == 1
                }
            }
        }
    }
}
