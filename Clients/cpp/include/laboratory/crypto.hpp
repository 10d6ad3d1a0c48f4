// The OpenSSL 3 operations the protocol needs (PROTOCOL.md §4-§8), behind a small interface so no
// OpenSSL header reaches the library's users.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "laboratory/bytes.hpp"
#include "laboratory/messages.hpp"

namespace laboratory::crypto {

Bytes sha256(const Bytes& data);

/// `SHA256:` and the unpadded standard base64 of the SHA-256 of the key's DER SPKI (§4).
std::string fingerprint(const Bytes& spki);

/// Whether `text` has the fingerprint form: `SHA256:` and 43 base64 characters whose last one
/// encodes no stray bits (§4: a pin in any other form is malformed).
bool is_fingerprint(const std::string& text);

/// HKDF-SHA256 (RFC 5869), extract then expand.
Bytes hkdf_sha256(const Bytes& ikm, const Bytes& salt, const Bytes& info, std::size_t length);

/// Cryptographically secure random bytes.
Bytes random_bytes(std::size_t count);
Secret random_secret();

/// An RSA public key from a DER SubjectPublicKeyInfo.
class RsaPublicKey {
public:
    /// Throws `Error` (bad_certificate) if the bytes are not an RSA SPKI.
    explicit RsaPublicKey(const Bytes& spki);
    ~RsaPublicKey();
    RsaPublicKey(RsaPublicKey&&) noexcept;
    RsaPublicKey& operator=(RsaPublicKey&&) noexcept;
    RsaPublicKey(const RsaPublicKey&) = delete;
    RsaPublicKey& operator=(const RsaPublicKey&) = delete;

    int bits() const;
    /// RSASSA-PSS with SHA-256, MGF1-SHA256, salt length 32.
    bool verify_pss_sha256(const Bytes& message, const Bytes& signature) const;
    /// RSAES-OAEP with SHA-256, MGF1-SHA256, empty label.
    Bytes encrypt_oaep_sha256(const Bytes& plaintext) const;

private:
    struct Key;
    std::unique_ptr<Key> key_;
};

/// AES-256-GCM with empty associated data; the tag (16 bytes) follows the ciphertext.
Bytes aes256gcm_seal(const Bytes& key, const Bytes& nonce, const Bytes& plaintext);
/// `std::nullopt` if the tag does not verify (or the payload is shorter than a tag).
std::optional<Bytes> aes256gcm_open(const Bytes& key, const Bytes& nonce, const Bytes& sealed);

}  // namespace laboratory::crypto
