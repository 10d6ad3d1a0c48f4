// The client side of the v1 handshake as a pure state machine (the shape of the Swift client's
// LaboratoryProtocol.ClientHandshake): no I/O, no clock, no randomness of its own. Each input
// returns the actions the connection carries out, in order; a failure throws `Error` and leaves
// the machine `failed`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "laboratory/bytes.hpp"
#include "laboratory/error.hpp"
#include "laboratory/hello.hpp"
#include "laboratory/messages.hpp"
#include "laboratory/record_layer.hpp"

namespace laboratory {

class ClientHandshake {
public:
    /// What the client answers the prompts with.
    struct Credentials {
        std::string password;
        std::string name;
        /// Ask for an unencrypted session (only servers that allow it accept). Never a fallback.
        bool plaintext = false;
        /// How far apart the clocks may be around the transport key's validity window (10 min).
        std::uint64_t clock_skew_ms = 600'000;
    };

    /// Decide whether the identity key with this fingerprint is the server's (pin, known hosts),
    /// then call `trust_decided`.
    struct CheckTrust {
        std::string fingerprint;
    };
    /// Send this payload as a plaintext frame (the key exchange).
    struct SendPlaintext {
        Bytes payload;
    };
    /// From now on seal outbound frames with `c2s` and open inbound ones with `s2c`.
    struct InstallKeys {
        SessionKeys keys;
    };
    /// Send this message (sealed if keys are installed).
    struct Send {
        Bytes message;
    };
    /// The session begins (`Accepted`), or the server wants another name (`NameRejected`: call
    /// `retry_name` or `give_up_name`).
    using Action = std::variant<CheckTrust, SendPlaintext, InstallKeys, Send, Accepted, NameRejected>;

    enum class State {
        awaiting_hello,
        awaiting_trust,
        awaiting_password_prompt,
        awaiting_name_prompt,
        awaiting_acceptance,
        awaiting_new_name,
        accepted,
        failed,
    };

    explicit ClientHandshake(Credentials credentials) : credentials_(std::move(credentials)) {}

    State state() const { return state_; }
    /// The step a failure would be reported at: "hello", "key exchange", "password" or "name".
    const char* step() const;

    /// The server's first frame: a hello (checked: form, version, key sizes, certificate
    /// signature, validity window at `now_ms`), or a `closing` refusing the connection.
    std::vector<Action> receive_hello(const Bytes& payload, std::uint64_t now_ms);
    /// The caller's trust decision: `std::nullopt` if the key is trusted, else why not. `secret`
    /// is the key exchange's 32 random bytes (injected so tests are deterministic).
    std::vector<Action> trust_decided(const std::optional<std::string>& mismatch, const Secret& secret);
    /// An opened message from the server during the handshake.
    std::vector<Action> receive(const ServerMessage& message);
    /// Another display name after `NameRejected`.
    std::vector<Action> retry_name(const std::string& name);
    /// No other name after `NameRejected`: throws `Error` (name_rejected).
    [[noreturn]] void give_up_name();
    /// A frame that did not open. While waiting for `passwordPrompt` a plaintext `closing` is the
    /// server's reason (it had not installed keys); anything else is a decryption failure. Throws.
    [[noreturn]] void receive_unopenable(const Bytes& payload);

private:
    [[noreturn]] void fail(Error::Kind kind, const std::string& message, std::optional<CloseReason> reason = std::nullopt);

    Credentials credentials_;
    State state_ = State::awaiting_hello;
    std::optional<ServerHello> hello_;
    std::optional<NameRejected> rejection_;
};

}  // namespace laboratory
