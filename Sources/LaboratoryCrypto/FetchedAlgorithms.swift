import CLaboratorySSL

/// The OpenSSL algorithms this library uses on every handshake, fetched from the default provider
/// once per process.
///
/// OpenSSL 3 looks an algorithm up by name in its provider store whenever it is given a legacy
/// handle (`EVP_sha256()`, `EVP_aes_256_gcm()`) or a name (the HKDF and HMAC implementations
/// fetch their digest and MAC on every call). A fetched handle skips that lookup: under callgrind
/// it was about a sixth of a handshake's instructions outside the RSA operation (HKDF alone
/// 104 k of 1.1 M). Each handle is `nil` if the fetch failed; callers then fall back to the legacy
/// handle, which behaves the same, only slower.
///
/// The handles are written once before they are published (a static's lazy initialisation) and
/// are never freed; OpenSSL allows a fetched algorithm to be used from many threads at once.
enum FetchedAlgorithms {
    /// SHA-256 (`EVP_MD`).
    nonisolated(unsafe) static let sha256: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

    /// AES-256-GCM (`EVP_CIPHER`).
    nonisolated(unsafe) static let aes256GCM: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)

    /// HMAC (`EVP_MAC`).
    nonisolated(unsafe) static let hmac: OpaquePointer? = EVP_MAC_fetch(nil, "HMAC", nil)
}
