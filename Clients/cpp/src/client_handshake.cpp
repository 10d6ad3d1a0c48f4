#include "laboratory/client_handshake.hpp"

#include "laboratory/crypto.hpp"
#include "laboratory/error.hpp"

namespace laboratory {

namespace {
std::optional<Closing> as_closing(const Bytes& payload) {
    if (payload.empty() || payload[0] != 0x04) return std::nullopt;
    try {
        ServerMessage message = decode_server_message(payload);
        if (auto* closing = std::get_if<Closing>(&message)) return *closing;
    } catch (const Error&) {
    }
    return std::nullopt;
}
}  // namespace

const char* ClientHandshake::step() const {
    switch (state_) {
        case State::awaiting_hello:
        case State::awaiting_trust: return "hello";
        case State::awaiting_password_prompt: return "key exchange";
        case State::awaiting_name_prompt: return "password";
        default: return "name";
    }
}

void ClientHandshake::fail(Error::Kind kind, const std::string& message, std::optional<CloseReason> reason) {
    std::string text = std::string(step()) + ": " + message;
    state_ = State::failed;
    throw Error(kind, text, std::move(reason));
}

std::vector<ClientHandshake::Action> ClientHandshake::receive_hello(const Bytes& payload, std::uint64_t now_ms) {
    if (state_ != State::awaiting_hello) fail(Error::Kind::protocol_violation, "a second hello");
    // A server refusing the connection at accept sends `closing` instead of the hello (§4).
    if (auto closing = as_closing(payload)) {
        fail(Error::Kind::closed_by_server, "the server refused: " + closing->reason.message,
             closing->reason);
    }
    ServerHello hello;
    try {
        hello = ServerHello::parse(payload);
    } catch (const Error& error) {
        fail(Error::Kind::protocol_violation, error.what());
    }
    const auto bad_certificate = Error::Kind::bad_certificate;
    try {
        crypto::RsaPublicKey identity(hello.identity_spki);
        crypto::RsaPublicKey transport(hello.transport_spki);
        if (identity.bits() < 2048 || identity.bits() > 4096 || transport.bits() < 2048 || transport.bits() > 4096) {
            fail(bad_certificate, "the server's keys must be RSA of 2048 to 4096 bits");
        }
        if (!identity.verify_pss_sha256(hello.certificate_bytes(), hello.signature)) {
            fail(bad_certificate, "the transport key's certificate is not signed by the identity key");
        }
    } catch (const Error& error) {
        if (state_ == State::failed) throw;
        fail(bad_certificate, error.what());
    }
    const std::uint64_t skew = credentials_.clock_skew_ms;
    bool too_early = hello.not_before > skew && now_ms < hello.not_before - skew;
    bool too_late = hello.not_after <= UINT64_MAX - skew && now_ms > hello.not_after + skew;
    if (hello.not_before > hello.not_after || too_early || too_late) {
        fail(bad_certificate, "the transport key is not valid now (check this computer's clock)");
    }
    std::string fingerprint = crypto::fingerprint(hello.identity_spki);
    hello_ = std::move(hello);
    state_ = State::awaiting_trust;
    return {CheckTrust{fingerprint}};
}

std::vector<ClientHandshake::Action> ClientHandshake::trust_decided(const std::optional<std::string>& mismatch,
                                                                    const Secret& secret) {
    if (state_ != State::awaiting_trust) {
        fail(Error::Kind::protocol_violation, "a trust decision without a hello to decide on");
    }
    if (mismatch) fail(Error::Kind::untrusted_key, *mismatch);
    state_ = State::awaiting_password_prompt;
    if (credentials_.plaintext) return {SendPlaintext{{}}};
    Bytes secret_bytes(secret.begin(), secret.end());
    SessionKeys keys = SessionKeys::derive(secret_bytes, hello_->server_random, hello_->payload);
    Bytes exchange = crypto::RsaPublicKey(hello_->transport_spki).encrypt_oaep_sha256(secret_bytes);
    hello_.reset();
    return {SendPlaintext{std::move(exchange)}, InstallKeys{std::move(keys)}};
}

std::vector<ClientHandshake::Action> ClientHandshake::receive(const ServerMessage& message) {
    const auto violation = Error::Kind::protocol_violation;
    switch (state_) {
        case State::awaiting_hello:
        case State::awaiting_trust:
        case State::accepted:
        case State::failed:
            fail(violation, std::string("a ") + message_name(message) + " before the hello was handled or after the end");
        default: break;
    }
    if (auto* closing = std::get_if<Closing>(&message)) {
        fail(Error::Kind::closed_by_server,
             "the server closed (" + close_code_name(closing->reason.code) + "): " + closing->reason.message,
             closing->reason);
    }
    if (state_ == State::awaiting_password_prompt && std::holds_alternative<PasswordPrompt>(message)) {
        state_ = State::awaiting_name_prompt;
        return {Send{client_message::password(credentials_.password)}};
    }
    if (state_ == State::awaiting_name_prompt && std::holds_alternative<NamePrompt>(message)) {
        state_ = State::awaiting_acceptance;
        return {Send{client_message::name(credentials_.name)}};
    }
    if (state_ == State::awaiting_acceptance) {
        if (auto* accepted = std::get_if<Accepted>(&message)) {
            state_ = State::accepted;
            return {*accepted};
        }
        if (auto* rejected = std::get_if<NameRejected>(&message)) {
            state_ = State::awaiting_new_name;
            rejection_ = *rejected;
            return {*rejected};
        }
    }
    fail(violation, std::string("unexpected ") + message_name(message) + " from the server");
}

std::vector<ClientHandshake::Action> ClientHandshake::retry_name(const std::string& name) {
    if (state_ != State::awaiting_new_name) {
        fail(Error::Kind::protocol_violation, "a new name without a rejected one");
    }
    state_ = State::awaiting_acceptance;
    return {Send{client_message::name(name)}};
}

void ClientHandshake::give_up_name() {
    if (state_ != State::awaiting_new_name) {
        fail(Error::Kind::protocol_violation, "giving up a name without a rejected one");
    }
    fail(Error::Kind::name_rejected, "the server rejected the name: " + rejection_->reason);
}

void ClientHandshake::receive_unopenable(const Bytes& payload) {
    if (state_ == State::awaiting_password_prompt) {
        if (auto closing = as_closing(payload)) {
            fail(Error::Kind::closed_by_server,
                 "the server closed (" + close_code_name(closing->reason.code) + "): " + closing->reason.message,
                 closing->reason);
        }
    }
    fail(Error::Kind::decryption_failed, "a frame from the server did not authenticate");
}

}  // namespace laboratory
