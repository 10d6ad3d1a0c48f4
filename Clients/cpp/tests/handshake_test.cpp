// ClientHandshake as a table: with the documented hello and keys, every server message in every
// state; only the expected one advances, everything else fails the handshake.
#include <gtest/gtest.h>

#include "laboratory/client_handshake.hpp"
#include "laboratory/crypto.hpp"
#include "support/paths.hpp"

using namespace laboratory;

namespace {

struct Fixture {
    std::map<std::string, Bytes> v = test::protocol_vectors();
    std::uint64_t now() const {
        ByteReader r(v.at("not_before"));
        return r.u64();
    }
    Secret secret() const {
        Secret s{};
        std::copy(v.at("secret").begin(), v.at("secret").end(), s.begin());
        return s;
    }
    std::string fingerprint() const { return crypto::fingerprint(v.at("identity_spki")); }
};

const Fixture& fixture() {
    static const Fixture f;
    return f;
}

ClientHandshake::Credentials ada() { return {"correct horse battery staple", "Ada"}; }

/// A machine advanced to `state` with the documented session.
ClientHandshake advanced_to(ClientHandshake::State state) {
    const Fixture& f = fixture();
    ClientHandshake h(ada());
    if (state == ClientHandshake::State::awaiting_hello) return h;
    h.receive_hello(f.v.at("hello_payload"), f.now());
    if (state == ClientHandshake::State::awaiting_trust) return h;
    h.trust_decided(std::nullopt, f.secret());
    if (state == ClientHandshake::State::awaiting_password_prompt) return h;
    h.receive(PasswordPrompt{});
    if (state == ClientHandshake::State::awaiting_name_prompt) return h;
    h.receive(NamePrompt{});
    if (state == ClientHandshake::State::awaiting_acceptance) return h;
    if (state == ClientHandshake::State::awaiting_new_name) {
        h.receive(NameRejected{"display name is empty", 2});
        return h;
    }
    h.receive(Accepted{1, "Laboratory", {"echo"}});
    return h;
}

std::vector<ServerMessage> every_message() {
    return {PasswordPrompt{}, NamePrompt{}, Accepted{1, "L", {}}, Closing{{6, "wrong password", std::nullopt}},
            Response{}, ServiceEvent{}, ServerName{"L"}, Ping{1}, Pong{1}, ServerStopping{5}, ServerKeyUpdate{},
            NameRejected{"bad", 1}};
}

}  // namespace

TEST(ClientHandshake, DocumentedSessionProducesTheDocumentedActions) {
    const Fixture& f = fixture();
    ClientHandshake h(ada());
    auto actions = h.receive_hello(f.v.at("hello_payload"), f.now());
    ASSERT_EQ(actions.size(), 1u);
    EXPECT_EQ(std::get<ClientHandshake::CheckTrust>(actions[0]).fingerprint,
              "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q");
    actions = h.trust_decided(std::nullopt, f.secret());
    ASSERT_EQ(actions.size(), 2u);
    // The key exchange is RSA-OAEP to the transport key: as long as its modulus, randomized.
    EXPECT_EQ(std::get<ClientHandshake::SendPlaintext>(actions[0]).payload.size(), 256u);
    const SessionKeys& keys = std::get<ClientHandshake::InstallKeys>(actions[1]).keys;
    EXPECT_EQ(keys.c2s_key, f.v.at("c2s_key"));
    EXPECT_EQ(keys.s2c_iv, f.v.at("s2c_iv"));
    actions = h.receive(PasswordPrompt{});
    EXPECT_EQ(std::get<ClientHandshake::Send>(actions.at(0)).message, f.v.at("c2s_0_payload"));
    actions = h.receive(NamePrompt{});
    EXPECT_EQ(std::get<ClientHandshake::Send>(actions.at(0)).message, f.v.at("c2s_1_payload"));
    actions = h.receive(std::get<Accepted>(decode_server_message(f.v.at("s2c_2_payload"))));
    EXPECT_EQ(std::get<Accepted>(actions.at(0)).connection_id, 1u);
    EXPECT_EQ(h.state(), ClientHandshake::State::accepted);
}

TEST(ClientHandshake, EveryMessageInEveryStateOnlyTheExpectedOneAdvances) {
    using S = ClientHandshake::State;
    struct Row {
        S state;
        std::size_t expected_index;  // into every_message(); npos: none advances
    };
    const std::size_t none = static_cast<std::size_t>(-1);
    std::vector<Row> rows = {{S::awaiting_password_prompt, 0}, {S::awaiting_name_prompt, 1},
                             {S::awaiting_acceptance, 2},      {S::awaiting_new_name, none},
                             {S::accepted, none},              {S::awaiting_trust, none}};
    for (const Row& row : rows) {
        auto messages = every_message();
        for (std::size_t i = 0; i < messages.size(); ++i) {
            ClientHandshake h = advanced_to(row.state);
            bool acceptance_row = row.state == S::awaiting_acceptance;
            bool advances = i == row.expected_index || (acceptance_row && i == 11);  // nameRejected too
            if (advances) {
                EXPECT_NO_THROW(h.receive(messages[i])) << static_cast<int>(row.state) << " " << message_name(messages[i]);
                EXPECT_NE(h.state(), row.state);
            } else {
                try {
                    h.receive(messages[i]);
                    ADD_FAILURE() << "state " << static_cast<int>(row.state) << " accepted " << message_name(messages[i]);
                } catch (const Error& error) {
                    bool closing = i == 3;
                    bool before_or_after = row.state == S::awaiting_trust || row.state == S::accepted;
                    EXPECT_EQ(error.kind(), closing && !before_or_after ? Error::Kind::closed_by_server
                                                                        : Error::Kind::protocol_violation)
                        << message_name(messages[i]);
                }
                EXPECT_EQ(h.state(), S::failed);
            }
        }
    }
}

TEST(ClientHandshake, AClosingDuringTheHandshakeCarriesTheServersReason) {
    ClientHandshake h = advanced_to(ClientHandshake::State::awaiting_name_prompt);
    try {
        h.receive(Closing{{6, "wrong password", std::nullopt}});
        FAIL();
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::closed_by_server);
        EXPECT_EQ(error.close_reason()->code, close_code::wrong_password);
        EXPECT_NE(std::string(error.what()).find("password: "), std::string::npos) << error.what();
    }
}

TEST(ClientHandshake, MismatchedKeySendsNothing) {
    ClientHandshake h = advanced_to(ClientHandshake::State::awaiting_trust);
    try {
        h.trust_decided(std::string("server key mismatch"), fixture().secret());
        FAIL() << "a mismatch must fail";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::untrusted_key);
    }
    EXPECT_EQ(h.state(), ClientHandshake::State::failed);
}

TEST(ClientHandshake, CertificateChecksRefuseBeforeTrustIsAsked) {
    const Fixture& f = fixture();
    const Bytes& hello = f.v.at("hello_payload");
    auto expect_bad = [&](const Bytes& payload, std::uint64_t now, Error::Kind kind) {
        ClientHandshake h(ada());
        try {
            h.receive_hello(payload, now);
            ADD_FAILURE() << "accepted a bad hello";
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), kind) << error.what();
        }
        EXPECT_EQ(h.state(), ClientHandshake::State::failed);
    };
    std::uint64_t not_before = f.now();
    std::uint64_t not_after = not_before + 630'000;
    const std::uint64_t skew = 600'000;
    // The window, with the 10-minute tolerance on both sides.
    EXPECT_NO_THROW(ClientHandshake(ada()).receive_hello(hello, not_before - skew));
    EXPECT_NO_THROW(ClientHandshake(ada()).receive_hello(hello, not_after + skew));
    expect_bad(hello, not_before - skew - 1, Error::Kind::bad_certificate);
    expect_bad(hello, not_after + skew + 1, Error::Kind::bad_certificate);
    // A signature that does not verify.
    Bytes bad_signature = hello;
    bad_signature[hello.size() - 32 - 10] ^= 1;
    expect_bad(bad_signature, not_before, Error::Kind::bad_certificate);
    // A changed validity window (not_after one millisecond later) breaks the signature.
    Bytes longer_window = hello;
    std::size_t not_after_offset = 10 + 294 + 294 + 8;
    longer_window[not_after_offset + 7] ^= 1;
    expect_bad(longer_window, not_before, Error::Kind::bad_certificate);
    // Not a Laboratory server; another version; trailing bytes.
    Bytes magic = hello;
    magic[0] = 'X';
    expect_bad(magic, not_before, Error::Kind::protocol_violation);
    Bytes version = hello;
    version[5] = 2;
    expect_bad(version, not_before, Error::Kind::protocol_violation);
    Bytes trailing = hello;
    trailing.push_back(0);
    expect_bad(trailing, not_before, Error::Kind::protocol_violation);
}

TEST(ClientHandshake, NameRetryAndGivingUp) {
    ClientHandshake h = advanced_to(ClientHandshake::State::awaiting_new_name);
    auto actions = h.retry_name("Grace");
    EXPECT_EQ(std::get<ClientHandshake::Send>(actions.at(0)).message, client_message::name("Grace"));
    EXPECT_EQ(h.state(), ClientHandshake::State::awaiting_acceptance);
    // A name nobody asked for is refused by the machine itself.
    EXPECT_THROW(h.retry_name("Again"), Error);

    ClientHandshake gives_up = advanced_to(ClientHandshake::State::awaiting_new_name);
    try {
        gives_up.give_up_name();
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::name_rejected);
        EXPECT_NE(std::string(error.what()).find("display name is empty"), std::string::npos);
    }
}

TEST(ClientHandshake, PlaintextClosingWhileAwaitingThePasswordPromptIsTheServersReason) {
    ClientHandshake h = advanced_to(ClientHandshake::State::awaiting_password_prompt);
    ByteWriter w;
    w.u8(0x04);
    w.u16(8);
    w.string("plaintext sessions are not allowed");
    try {
        h.receive_unopenable(w.data());
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::closed_by_server);
        EXPECT_EQ(error.close_reason()->code, close_code::plaintext_not_allowed);
    }
    // Later, an unopenable frame is a decryption failure, whatever it looks like.
    ClientHandshake later = advanced_to(ClientHandshake::State::awaiting_name_prompt);
    try {
        later.receive_unopenable(w.data());
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::decryption_failed);
    }
}

TEST(ClientHandshake, PlaintextSessionSendsAnEmptyKeyExchangeAndInstallsNoKeys) {
    const Fixture& f = fixture();
    ClientHandshake h({"pw", "Ada", true});
    h.receive_hello(f.v.at("hello_payload"), f.now());
    auto actions = h.trust_decided(std::nullopt, f.secret());
    ASSERT_EQ(actions.size(), 1u);
    EXPECT_TRUE(std::get<ClientHandshake::SendPlaintext>(actions[0]).payload.empty());
}

TEST(ClientHandshake, ASecondHelloIsAViolation) {
    ClientHandshake h = advanced_to(ClientHandshake::State::awaiting_trust);
    EXPECT_THROW(h.receive_hello(fixture().v.at("hello_payload"), fixture().now()), Error);
}
