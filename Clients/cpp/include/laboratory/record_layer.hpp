// Session keys (PROTOCOL.md §6), sealing and opening with per-direction counters (§7) and key
// updates (§8).
#pragma once

#include <cstdint>
#include <optional>

#include "laboratory/bytes.hpp"
#include "laboratory/messages.hpp"

namespace laboratory {

/// The four values HKDF derives from the key exchange.
struct SessionKeys {
    Bytes c2s_key, s2c_key, c2s_iv, s2c_iv;

    /// HKDF-SHA256(IKM secret, salt server random, info "laboratory v1 session keys" ||
    /// SHA-256(hello payload), L 88), split 32/32/12/12.
    static SessionKeys derive(const Bytes& secret, const Bytes& server_random, const Bytes& hello_payload);
    /// The 58-byte info.
    static Bytes info(const Bytes& hello_payload);
};

/// One direction's key, IV and frame counter.
class DirectionKeys {
public:
    DirectionKeys(Bytes key, Bytes iv) : key_(std::move(key)), iv_(std::move(iv)) {}

    /// The IV with the big-endian counter XORed into its last 8 bytes.
    Bytes nonce(std::uint64_t counter) const;
    /// Seals a message with the current counter and advances it.
    Bytes seal(const Bytes& message);
    /// Opens a frame payload with the current counter; advances only on success.
    std::optional<Bytes> open(const Bytes& payload);
    /// Replaces key and IV by HKDF(IKM secret, salt current key, info "laboratory v1 key update",
    /// L 44) and restarts the counter at 0.
    void update(const Secret& secret);

    const Bytes& key() const { return key_; }
    const Bytes& iv() const { return iv_; }
    std::uint64_t counter() const { return counter_; }

private:
    Bytes key_, iv_;
    std::uint64_t counter_ = 0;
};

/// The key update's new key and IV (44 bytes, split 32/12).
Bytes key_update_material(const Secret& secret, const Bytes& current_key);

}  // namespace laboratory
