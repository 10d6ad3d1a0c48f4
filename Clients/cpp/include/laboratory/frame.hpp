// Framing (PROTOCOL.md §3): a u32 length, then the payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "laboratory/bytes.hpp"

namespace laboratory {

/// The default maximum payload, on the reference server and client alike (1 MiB).
inline constexpr std::uint32_t default_max_payload = 1 << 20;
/// What a client may send before `accepted` (4 KiB).
inline constexpr std::uint32_t handshake_max_payload = 4096;

/// A frame: the length prefix, then the payload.
Bytes encode_frame(const Bytes& payload);

/// Cuts frames out of a byte stream. The length prefix is checked as soon as its four bytes are
/// in, before any of the payload is buffered: a larger one throws `Error` (protocol_violation).
class FrameDecoder {
public:
    explicit FrameDecoder(std::uint32_t max_payload = default_max_payload) : max_payload_(max_payload) {}

    void append(const std::uint8_t* data, std::size_t count);
    /// The next complete payload, if one is in.
    std::optional<Bytes> next();
    /// Bytes held that are not yet a complete frame.
    std::size_t buffered() const { return buffer_.size() - start_; }

private:
    std::uint32_t max_payload_;
    Bytes buffer_;
    std::size_t start_ = 0;
};

}  // namespace laboratory
