// The server hello and the transport key's certificate (PROTOCOL.md §4).
#pragma once

#include <cstdint>

#include "laboratory/bytes.hpp"

namespace laboratory {

/// A parsed hello. `payload` keeps the exact bytes, which the key derivation hashes (§6).
struct ServerHello {
    Bytes payload;
    Bytes identity_spki;
    Bytes transport_spki;
    std::uint64_t not_before = 0;
    std::uint64_t not_after = 0;
    Bytes signature;
    Bytes server_random;

    /// Parses a hello payload; throws `Error` (protocol_violation) for a wrong magic, another
    /// version (the message says so), a field past the end or trailing bytes.
    static ServerHello parse(const Bytes& payload);

    /// The bytes the identity key signs: the label, the transport key's length and SPKI,
    /// `not_before` and `not_after`.
    Bytes certificate_bytes() const;
};

/// The certificate's signed bytes for any transport key and window.
Bytes certificate_bytes(const Bytes& transport_spki, std::uint64_t not_before, std::uint64_t not_after);

}  // namespace laboratory
