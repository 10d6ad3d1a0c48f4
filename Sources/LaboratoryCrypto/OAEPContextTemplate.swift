import CLaboratorySSL
import Synchronization

/// An RSA-OAEP context (SHA-256 as the hash and the MGF1 hash, empty label) for one key and one
/// direction, prepared once, on first use (the provider's fetches, the padding and the digests),
/// and duplicated for each operation: preparing a context costs about 4 µs in OpenSSL 3,
/// duplicating one about 0.1 µs. The template itself is never used to encrypt or decrypt, only
/// duplicated, under its lock.
struct OAEPContextTemplate: ~Copyable, @unchecked Sendable {
    /// What the contexts are set up for.
    enum Operation {
        case encrypt
        case decrypt
    }

    // Safety: the EVP_PKEY is only read (OpenSSL 3 allows that from several threads, each with its
    // own EVP_PKEY_CTX), the template only touched under its lock. The key is owned by the key
    // object holding this template; a context takes its own reference to it, so the template may
    // outlive the owner's EVP_PKEY_free.
    private let key: OpaquePointer
    private let operation: Operation
    private let template = Mutex<OpaquePointer?>(nil)

    init(key: OpaquePointer, operation: Operation) {
        self.key = key
        self.operation = operation
    }

    deinit {
        template.withLock { template in
            if let template { EVP_PKEY_CTX_free(template) }
        }
    }

    /// A fresh context, duplicated from the prepared one (or built anew if it cannot be), which
    /// the caller frees with `EVP_PKEY_CTX_free`; `nil` if OpenSSL fails.
    func context() -> OpaquePointer? {
        template.withLock { template in
            if template == nil { template = prepared() }
            if let template, let copy = EVP_PKEY_CTX_dup(template) { return copy }
            // No template, or a provider that cannot copy one: a context of its own, as before
            // templates existed, rather than failing every operation.
            return prepared()
        }
    }

    /// A new context set up for the operation with OAEP; `nil` if OpenSSL fails.
    private func prepared() -> OpaquePointer? {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { return nil }
        let initialized =
            switch operation {
            case .encrypt: EVP_PKEY_encrypt_init(context)
            case .decrypt: EVP_PKEY_decrypt_init(context)
            }
        if initialized == 1, configureOAEP(context) { return context }
        EVP_PKEY_CTX_free(context)
        return nil
    }
}
