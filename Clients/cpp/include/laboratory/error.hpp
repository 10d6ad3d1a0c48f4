// The one error type of the library.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "laboratory/messages.hpp"

namespace laboratory {

/// Everything the library throws. `kind()` says what happened; `close_reason()` carries the
/// server's `closing` when it sent one.
class Error : public std::runtime_error {
public:
    enum class Kind {
        /// Could not reach the server, or the socket failed.
        connection_failed,
        /// The server sent `closing` (a refusal, a wrong password, a timeout, ...).
        closed_by_server,
        /// The transport key's certificate is invalid or out of its validity window.
        bad_certificate,
        /// The identity key is not the one the client trusts (pin or known hosts).
        untrusted_key,
        /// A frame from the server did not authenticate (close code 4 semantics).
        decryption_failed,
        /// The server sent something malformed or out of order (close code 2 semantics).
        protocol_violation,
        /// The server rejected the display name and no other was offered.
        name_rejected,
        /// A deadline passed (connect, handshake, a request, the wait after `bye`).
        timed_out,
        /// The caller used the API wrongly (a bad pin, a request before acceptance, ...).
        invalid_argument,
        /// An OpenSSL call failed unexpectedly.
        crypto_failure,
        /// The session has ended.
        closed,
    };

    Error(Kind kind, std::string message, std::optional<CloseReason> reason = std::nullopt)
        : std::runtime_error(std::move(message)), kind_(kind), reason_(std::move(reason)) {}

    Kind kind() const { return kind_; }
    /// The server's `closing`, if it sent one.
    const std::optional<CloseReason>& close_reason() const { return reason_; }
    /// For a refusal of a locked-out source (close code 15 with `retry_ms`): how long to wait.
    std::optional<std::uint32_t> retry_after_ms() const { return reason_ ? reason_->retry_ms : std::nullopt; }

private:
    Kind kind_;
    std::optional<CloseReason> reason_;
};

/// A short name for an error kind, for messages and tests.
const char* to_string(Error::Kind kind);

}  // namespace laboratory
