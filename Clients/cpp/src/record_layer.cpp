#include "laboratory/record_layer.hpp"

#include "laboratory/crypto.hpp"
#include "laboratory/error.hpp"

namespace laboratory {

namespace {
Bytes ascii(const char* text) { return Bytes(text, text + std::char_traits<char>::length(text)); }
}  // namespace

Bytes SessionKeys::info(const Bytes& hello_payload) {
    Bytes info = ascii("laboratory v1 session keys");
    Bytes hash = crypto::sha256(hello_payload);
    info.insert(info.end(), hash.begin(), hash.end());
    return info;
}

SessionKeys SessionKeys::derive(const Bytes& secret, const Bytes& server_random, const Bytes& hello_payload) {
    Bytes okm = crypto::hkdf_sha256(secret, server_random, info(hello_payload), 88);
    return SessionKeys{Bytes(okm.begin(), okm.begin() + 32), Bytes(okm.begin() + 32, okm.begin() + 64),
                       Bytes(okm.begin() + 64, okm.begin() + 76), Bytes(okm.begin() + 76, okm.end())};
}

Bytes DirectionKeys::nonce(std::uint64_t counter) const {
    Bytes nonce = iv_;
    for (int i = 0; i < 8; ++i) nonce[4 + i] ^= static_cast<std::uint8_t>(counter >> (56 - 8 * i));
    return nonce;
}

Bytes DirectionKeys::seal(const Bytes& message) {
    // Counters never wrap: 2^64 - 1 is never used (§7).
    if (counter_ == UINT64_MAX - 1) throw Error(Error::Kind::closed, "the frame counter is exhausted");
    Bytes sealed = crypto::aes256gcm_seal(key_, nonce(counter_), message);
    ++counter_;
    return sealed;
}

std::optional<Bytes> DirectionKeys::open(const Bytes& payload) {
    if (counter_ == UINT64_MAX - 1) return std::nullopt;
    auto opened = crypto::aes256gcm_open(key_, nonce(counter_), payload);
    if (opened) ++counter_;
    return opened;
}

Bytes key_update_material(const Secret& secret, const Bytes& current_key) {
    return crypto::hkdf_sha256(Bytes(secret.begin(), secret.end()), current_key, ascii("laboratory v1 key update"), 44);
}

void DirectionKeys::update(const Secret& secret) {
    Bytes material = key_update_material(secret, key_);
    key_.assign(material.begin(), material.begin() + 32);
    iv_.assign(material.begin() + 32, material.end());
    counter_ = 0;
}

}  // namespace laboratory
