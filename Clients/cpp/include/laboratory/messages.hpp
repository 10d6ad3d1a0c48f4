// The messages of PROTOCOL.md §10: client messages are encoded, server messages decoded strictly.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "laboratory/bytes.hpp"

namespace laboratory {

/// Close codes (PROTOCOL.md §14). The set is open: a `closing` may carry any other value.
namespace close_code {
inline constexpr std::uint16_t normal = 1;
inline constexpr std::uint16_t protocol_violation = 2;
inline constexpr std::uint16_t frame_too_large = 3;
inline constexpr std::uint16_t decryption_failed = 4;
inline constexpr std::uint16_t handshake_timeout = 5;
inline constexpr std::uint16_t wrong_password = 6;
inline constexpr std::uint16_t invalid_name = 7;
inline constexpr std::uint16_t plaintext_not_allowed = 8;
inline constexpr std::uint16_t server_stopping = 9;
inline constexpr std::uint16_t internal_error = 10;
inline constexpr std::uint16_t unsupported_version = 11;
inline constexpr std::uint16_t peer_closed = 12;
inline constexpr std::uint16_t slow_consumer = 13;
inline constexpr std::uint16_t key_exhausted = 14;
inline constexpr std::uint16_t refused = 15;
inline constexpr std::uint16_t idle_timeout = 16;
inline constexpr std::uint16_t kicked = 17;
}  // namespace close_code

/// The documented name of a close code ("wrong password"), or "code N" for one not documented.
std::string close_code_name(std::uint16_t code);

/// Response statuses (PROTOCOL.md §14).
namespace status {
inline constexpr std::uint16_t ok = 0;
inline constexpr std::uint16_t unknown_service = 1;
inline constexpr std::uint16_t service_error = 2;
inline constexpr std::uint16_t internal_error = 3;
inline constexpr std::uint16_t rejected = 4;
}  // namespace status

/// A `closing` message: why the server ends the connection.
struct CloseReason {
    std::uint16_t code = 0;
    std::string message;
    /// Only for code 15 refusing a locked-out source: milliseconds until it may connect again.
    std::optional<std::uint32_t> retry_ms;
    bool operator==(const CloseReason& other) const {
        return code == other.code && message == other.message && retry_ms == other.retry_ms;
    }
};

/// The 32-byte secret of a key exchange or key update.
using Secret = std::array<std::uint8_t, 32>;

/// Encodes client messages (payloads, before sealing).
namespace client_message {
Bytes password(const std::string& password);
Bytes name(const std::string& name);
Bytes request(std::uint64_t id, const std::string& service, const Bytes& body);
Bytes server_name_query();
Bytes ping(std::uint64_t value);
Bytes pong(std::uint64_t value);
Bytes bye();
Bytes rename(std::uint64_t request_id, const std::string& name);
Bytes key_update(const Secret& secret, bool request_update);
}  // namespace client_message

/// Server messages (§10).
struct PasswordPrompt {};
struct NamePrompt {};
struct Accepted {
    std::uint64_t connection_id = 0;
    std::string server_name;
    std::vector<std::string> services;
};
struct Closing {
    CloseReason reason;
};
struct Response {
    std::uint64_t request_id = 0;
    std::uint16_t status = 0;
    std::string error_message;
    Bytes body;
};
struct ServiceEvent {
    std::string service;
    Bytes body;
};
struct ServerName {
    std::string name;
};
struct Ping {
    std::uint64_t value = 0;
};
struct Pong {
    std::uint64_t value = 0;
};
struct ServerStopping {
    std::uint32_t grace_ms = 0;
};
struct ServerKeyUpdate {
    Secret secret{};
    bool request_update = false;
};
struct NameRejected {
    std::string reason;
    std::uint8_t attempts_left = 0;
};

using ServerMessage = std::variant<PasswordPrompt, NamePrompt, Accepted, Closing, Response, ServiceEvent,
                                   ServerName, Ping, Pong, ServerStopping, ServerKeyUpdate, NameRejected>;

/// Decodes a server message; throws `Error` (protocol_violation) if it is malformed: an unknown
/// type, a field past the end, invalid UTF-8, trailing bytes, a `retry_ms` that is 0 or not on a
/// code-15 `closing`, a `request_update` other than 0 or 1, `attempts_left` 0.
ServerMessage decode_server_message(const Bytes& payload);

/// The message's name, for errors ("accepted", "closing", ...).
const char* message_name(const ServerMessage& message);

}  // namespace laboratory
