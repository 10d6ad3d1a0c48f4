#include "laboratory/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "laboratory/error.hpp"

namespace laboratory::crypto {

namespace {

[[noreturn]] void fail(const char* what) {
    unsigned long code = ERR_get_error();
    char text[256] = "";
    if (code != 0) ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    throw Error(Error::Kind::crypto_failure, std::string(what) + (code ? std::string(": ") + text : ""));
}

struct PkeyContext {
    EVP_PKEY_CTX* ctx;
    explicit PkeyContext(EVP_PKEY_CTX* c) : ctx(c) {
        if (!ctx) fail("EVP_PKEY_CTX_new");
    }
    ~PkeyContext() { EVP_PKEY_CTX_free(ctx); }
};

struct CipherContext {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    CipherContext() {
        if (!ctx) fail("EVP_CIPHER_CTX_new");
    }
    ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
};

std::string base64_unpadded(const Bytes& data) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string text;
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) text.push_back(alphabet[(n >> shift) & 63]);
    }
    std::size_t rest = data.size() - i;
    if (rest == 1) {
        std::uint32_t n = std::uint32_t{data[i]} << 16;
        text.push_back(alphabet[(n >> 18) & 63]);
        text.push_back(alphabet[(n >> 12) & 63]);
    } else if (rest == 2) {
        std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        text.push_back(alphabet[(n >> 18) & 63]);
        text.push_back(alphabet[(n >> 12) & 63]);
        text.push_back(alphabet[(n >> 6) & 63]);
    }
    return text;
}

}  // namespace

Bytes sha256(const Bytes& data) {
    Bytes digest(32);
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) fail("SHA-256");
    return digest;
}

std::string fingerprint(const Bytes& spki) { return "SHA256:" + base64_unpadded(sha256(spki)); }

bool is_fingerprint(const std::string& text) {
    static const std::string prefix = "SHA256:";
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.size() != prefix.size() + 43 || text.compare(0, prefix.size(), prefix) != 0) return false;
    for (std::size_t i = prefix.size(); i < text.size(); ++i) {
        if (alphabet.find(text[i]) == std::string::npos) return false;
    }
    // 43 characters carry 258 bits for 256: the last character's low two bits must be zero.
    return (alphabet.find(text.back()) & 3) == 0;
}

Bytes hkdf_sha256(const Bytes& ikm, const Bytes& salt, const Bytes& info, std::size_t length) {
    PkeyContext pctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    Bytes out(length);
    std::size_t out_length = length;
    if (EVP_PKEY_derive_init(pctx.ctx) != 1 || EVP_PKEY_CTX_set_hkdf_md(pctx.ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set1_hkdf_salt(pctx.ctx, salt.data(), static_cast<int>(salt.size())) != 1 ||
        EVP_PKEY_CTX_set1_hkdf_key(pctx.ctx, ikm.data(), static_cast<int>(ikm.size())) != 1 ||
        EVP_PKEY_CTX_add1_hkdf_info(pctx.ctx, info.data(), static_cast<int>(info.size())) != 1 ||
        EVP_PKEY_derive(pctx.ctx, out.data(), &out_length) != 1 || out_length != length) {
        fail("HKDF-SHA256");
    }
    return out;
}

Bytes random_bytes(std::size_t count) {
    Bytes out(count);
    if (count > 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) fail("RAND_bytes");
    return out;
}

Secret random_secret() {
    Secret secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) fail("RAND_bytes");
    return secret;
}

struct RsaPublicKey::Key {
    EVP_PKEY* pkey = nullptr;
    ~Key() { EVP_PKEY_free(pkey); }
};

RsaPublicKey::RsaPublicKey(const Bytes& spki) : key_(std::make_unique<Key>()) {
    const unsigned char* p = spki.data();
    key_->pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
    if (!key_->pkey || p != spki.data() + spki.size() || EVP_PKEY_get_base_id(key_->pkey) != EVP_PKEY_RSA) {
        ERR_clear_error();
        throw Error(Error::Kind::bad_certificate, "not an RSA public key (DER SubjectPublicKeyInfo)");
    }
}

RsaPublicKey::~RsaPublicKey() = default;
RsaPublicKey::RsaPublicKey(RsaPublicKey&&) noexcept = default;
RsaPublicKey& RsaPublicKey::operator=(RsaPublicKey&&) noexcept = default;

int RsaPublicKey::bits() const { return EVP_PKEY_get_bits(key_->pkey); }

bool RsaPublicKey::verify_pss_sha256(const Bytes& message, const Bytes& signature) const {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    if (!md) fail("EVP_MD_CTX_new");
    EVP_PKEY_CTX* pctx = nullptr;  // owned by md
    bool ok = EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), nullptr, key_->pkey) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
              EVP_DigestVerify(md, signature.data(), signature.size(), message.data(), message.size()) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

Bytes RsaPublicKey::encrypt_oaep_sha256(const Bytes& plaintext) const {
    PkeyContext pctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->pkey, nullptr));
    std::size_t length = 0;
    if (EVP_PKEY_encrypt_init(pctx.ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(pctx.ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx.ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx.ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_encrypt(pctx.ctx, nullptr, &length, plaintext.data(), plaintext.size()) != 1) {
        fail("RSA-OAEP");
    }
    Bytes out(length);
    if (EVP_PKEY_encrypt(pctx.ctx, out.data(), &length, plaintext.data(), plaintext.size()) != 1) fail("RSA-OAEP");
    out.resize(length);
    return out;
}

Bytes aes256gcm_seal(const Bytes& key, const Bytes& nonce, const Bytes& plaintext) {
    if (key.size() != 32 || nonce.size() != 12) throw Error(Error::Kind::invalid_argument, "AES-256-GCM: bad key or nonce size");
    CipherContext c;
    Bytes out(plaintext.size() + 16);
    int length = 0;
    if (EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
        EVP_EncryptUpdate(c.ctx, out.data(), &length, plaintext.data(), static_cast<int>(plaintext.size())) != 1) {
        fail("AES-256-GCM seal");
    }
    int final_length = 0;
    if (EVP_EncryptFinal_ex(c.ctx, out.data() + length, &final_length) != 1 ||
        EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + plaintext.size()) != 1) {
        fail("AES-256-GCM seal");
    }
    return out;
}

std::optional<Bytes> aes256gcm_open(const Bytes& key, const Bytes& nonce, const Bytes& sealed) {
    if (key.size() != 32 || nonce.size() != 12) throw Error(Error::Kind::invalid_argument, "AES-256-GCM: bad key or nonce size");
    if (sealed.size() < 16) return std::nullopt;
    std::size_t count = sealed.size() - 16;
    CipherContext c;
    Bytes out(count + 1);  // never empty, so out.data() is valid
    int length = 0;
    Bytes tag(sealed.end() - 16, sealed.end());
    if (EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
        EVP_DecryptUpdate(c.ctx, out.data(), &length, sealed.data(), static_cast<int>(count)) != 1 ||
        EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1) {
        fail("AES-256-GCM open");
    }
    int final_length = 0;
    if (EVP_DecryptFinal_ex(c.ctx, out.data() + length, &final_length) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    out.resize(count);
    return out;
}

}  // namespace laboratory::crypto
