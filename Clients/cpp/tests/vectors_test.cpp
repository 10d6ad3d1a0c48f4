// Every test vector of Docs/PROTOCOL.md, read from the document itself, against this library.
// The last test checks that no vector went unused, so a vector added to the document fails here
// until a test covers it.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "laboratory/client_handshake.hpp"
#include "laboratory/crypto.hpp"
#include "laboratory/frame.hpp"
#include "laboratory/hello.hpp"
#include "laboratory/messages.hpp"
#include "laboratory/record_layer.hpp"
#include "support/paths.hpp"

using namespace laboratory;

namespace {

const std::map<std::string, Bytes>& all() {
    static const std::map<std::string, Bytes> vectors = test::protocol_vectors();
    return vectors;
}

std::set<std::string>& used() {
    static std::set<std::string> names;
    return names;
}

const Bytes& v(const std::string& name) {
    auto found = all().find(name);
    if (found == all().end()) throw std::runtime_error("no vector " + name + " in Docs/PROTOCOL.md");
    used().insert(name);
    return found->second;
}

std::uint64_t u64(const std::string& name) {
    ByteReader r(v(name));
    std::uint64_t value = r.u64();
    r.finish(name.c_str());
    return value;
}

Bytes concat(const Bytes& a, const Bytes& b) {
    Bytes out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

SessionKeys session_keys() { return SessionKeys::derive(v("secret"), v("server_random"), v("hello_payload")); }

Secret secret_of(const Bytes& bytes) {
    Secret secret{};
    std::copy(bytes.begin(), bytes.end(), secret.begin());
    return secret;
}

}  // namespace

TEST(Vectors, Inputs) {
    Bytes expected_secret, expected_random;
    for (int i = 0; i < 32; ++i) {
        expected_secret.push_back(static_cast<std::uint8_t>(i));
        expected_random.push_back(static_cast<std::uint8_t>(0x20 + i));
    }
    EXPECT_EQ(v("secret"), expected_secret);
    EXPECT_EQ(v("server_random"), expected_random);
    EXPECT_EQ(u64("not_before"), 1'767'225'600'000u);
    EXPECT_EQ(u64("not_after"), u64("not_before") + 630'000u);
}

TEST(Vectors, IdentityFingerprintIsTheDocumentedOne) {
    std::string text = test::read_text(test::repo_root() + "/Docs/PROTOCOL.md");
    std::set<std::string> documented;
    std::regex pattern("SHA256:[A-Za-z0-9+/]{43}");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it) {
        documented.insert(it->str());
    }
    EXPECT_EQ(documented, std::set<std::string>{crypto::fingerprint(v("identity_spki"))});
    EXPECT_TRUE(crypto::is_fingerprint(crypto::fingerprint(v("identity_spki"))));
}

TEST(Vectors, BothKeysAre2048BitRsa) {
    EXPECT_EQ(crypto::RsaPublicKey(v("identity_spki")).bits(), 2048);
    EXPECT_EQ(crypto::RsaPublicKey(v("transport_spki")).bits(), 2048);
}

TEST(Vectors, Certificate) {
    Bytes signed_bytes = certificate_bytes(v("transport_spki"), u64("not_before"), u64("not_after"));
    EXPECT_EQ(signed_bytes, v("transport_key_signed_bytes"));
    crypto::RsaPublicKey identity(v("identity_spki"));
    EXPECT_TRUE(identity.verify_pss_sha256(signed_bytes, v("transport_key_signature")));
    Bytes altered = signed_bytes;
    altered.back() ^= 1;
    EXPECT_FALSE(identity.verify_pss_sha256(altered, v("transport_key_signature")));
    Bytes signature = v("transport_key_signature");
    signature[10] ^= 1;
    EXPECT_FALSE(identity.verify_pss_sha256(signed_bytes, signature));
    // Signed by the wrong key.
    EXPECT_FALSE(crypto::RsaPublicKey(v("transport_spki")).verify_pss_sha256(signed_bytes, v("transport_key_signature")));
}

TEST(Vectors, Hello) {
    const Bytes& payload = v("hello_payload");
    ASSERT_EQ(payload.size(), 904u);
    Bytes frame = encode_frame(payload);
    EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 4), v("hello_length_prefix"));
    EXPECT_EQ(crypto::sha256(payload), v("hello_sha256"));
    ServerHello hello = ServerHello::parse(payload);
    EXPECT_EQ(hello.identity_spki, v("identity_spki"));
    EXPECT_EQ(hello.transport_spki, v("transport_spki"));
    EXPECT_EQ(hello.not_before, u64("not_before"));
    EXPECT_EQ(hello.not_after, u64("not_after"));
    EXPECT_EQ(hello.signature, v("transport_key_signature"));
    EXPECT_EQ(hello.server_random, v("server_random"));
    EXPECT_EQ(hello.certificate_bytes(), v("transport_key_signed_bytes"));
    // Strict: a trailing byte, a short payload, another magic or version are refused.
    Bytes longer = payload;
    longer.push_back(0);
    EXPECT_THROW(ServerHello::parse(longer), Error);
    EXPECT_THROW(ServerHello::parse(Bytes(payload.begin(), payload.end() - 1)), Error);
    Bytes other_version = payload;
    other_version[5] = 2;
    EXPECT_THROW(ServerHello::parse(other_version), Error);
}

TEST(Vectors, KeySchedule) {
    EXPECT_EQ(SessionKeys::info(v("hello_payload")), v("hkdf_info"));
    EXPECT_EQ(crypto::hkdf_sha256(v("secret"), v("server_random"), v("hkdf_info"), 88), v("okm"));
    SessionKeys keys = session_keys();
    EXPECT_EQ(keys.c2s_key, v("c2s_key"));
    EXPECT_EQ(keys.s2c_key, v("s2c_key"));
    EXPECT_EQ(keys.c2s_iv, v("c2s_iv"));
    EXPECT_EQ(keys.s2c_iv, v("s2c_iv"));
}

TEST(Vectors, Nonces) {
    DirectionKeys c2s(v("c2s_key"), v("c2s_iv"));
    DirectionKeys s2c(v("s2c_key"), v("s2c_iv"));
    EXPECT_EQ(c2s.nonce(0), v("c2s_nonce_0"));
    EXPECT_EQ(c2s.nonce(1), v("c2s_nonce_1"));
    EXPECT_EQ(c2s.nonce(2), v("c2s_nonce_2"));
    EXPECT_EQ(s2c.nonce(0), v("s2c_nonce_0"));
    EXPECT_EQ(s2c.nonce(1), v("s2c_nonce_1"));
    EXPECT_EQ(s2c.nonce(0x0102030405060708), v("s2c_nonce_0102030405060708"));
}

TEST(Vectors, SealedHandshakeBothDirections) {
    SessionKeys keys = session_keys();
    DirectionKeys sealer(keys.c2s_key, keys.c2s_iv);
    DirectionKeys opener(keys.s2c_key, keys.s2c_iv);
    // What this client sends is byte for byte the documented frames.
    EXPECT_EQ(v("c2s_0_payload"), client_message::password("correct horse battery staple"));
    EXPECT_EQ(encode_frame(sealer.seal(v("c2s_0_payload"))), v("c2s_0_frame"));
    EXPECT_EQ(v("c2s_1_payload"), client_message::name("Ada"));
    EXPECT_EQ(encode_frame(sealer.seal(v("c2s_1_payload"))), v("c2s_1_frame"));
    // What the server sends opens to the documented messages, in order.
    FrameDecoder decoder;
    Bytes stream = concat(concat(v("s2c_0_frame"), v("s2c_1_frame")), v("s2c_2_frame"));
    decoder.append(stream.data(), stream.size());
    std::vector<std::string> names = {"s2c_0_payload", "s2c_1_payload", "s2c_2_payload"};
    for (const std::string& name : names) {
        auto frame = decoder.next();
        ASSERT_TRUE(frame);
        auto opened = opener.open(*frame);
        ASSERT_TRUE(opened) << name;
        EXPECT_EQ(*opened, v(name));
    }
    EXPECT_TRUE(std::holds_alternative<PasswordPrompt>(decode_server_message(v("s2c_0_payload"))));
    EXPECT_TRUE(std::holds_alternative<NamePrompt>(decode_server_message(v("s2c_1_payload"))));
    auto accepted = std::get<Accepted>(decode_server_message(v("s2c_2_payload")));
    EXPECT_EQ(accepted.connection_id, 1u);
    EXPECT_EQ(accepted.server_name, "Laboratory");
    EXPECT_EQ(accepted.services, std::vector<std::string>{"echo"});
}

TEST(Vectors, SealedFramesRefuseReplayReorderAndTampering) {
    SessionKeys keys = session_keys();
    Bytes frame0 = Bytes(v("s2c_0_frame").begin() + 4, v("s2c_0_frame").end());
    Bytes frame1 = Bytes(v("s2c_1_frame").begin() + 4, v("s2c_1_frame").end());
    DirectionKeys reordered(keys.s2c_key, keys.s2c_iv);
    EXPECT_FALSE(reordered.open(frame1));  // counter 0 expected
    DirectionKeys replayed(keys.s2c_key, keys.s2c_iv);
    ASSERT_TRUE(replayed.open(frame0));
    EXPECT_FALSE(replayed.open(frame0));
    DirectionKeys tampered(keys.s2c_key, keys.s2c_iv);
    Bytes altered = frame0;
    altered[0] ^= 0x80;
    EXPECT_FALSE(tampered.open(altered));
    EXPECT_TRUE(tampered.open(frame0));  // a failure does not advance the counter
    DirectionKeys reflected(keys.s2c_key, keys.s2c_iv);
    EXPECT_FALSE(reflected.open(Bytes(v("c2s_0_frame").begin() + 4, v("c2s_0_frame").end())));
    DirectionKeys short_frame(keys.s2c_key, keys.s2c_iv);
    EXPECT_FALSE(short_frame.open(Bytes(15, 0)));
}

TEST(Vectors, UnsealedFrames) {
    EXPECT_EQ(encode_frame({}), v("plaintext_key_exchange_frame"));
    EXPECT_EQ(encode_frame(client_message::request(1, "echo", Bytes{'h', 'i'})), v("request_frame"));
    auto payload_of = [](const Bytes& frame) { return Bytes(frame.begin() + 4, frame.end()); };
    auto response = std::get<Response>(decode_server_message(payload_of(v("response_frame"))));
    EXPECT_EQ(response.request_id, 1u);
    EXPECT_EQ(response.status, 0);
    EXPECT_EQ(response.error_message, "");
    EXPECT_EQ(response.body, (Bytes{'h', 'i'}));
    auto closing = std::get<Closing>(decode_server_message(payload_of(v("closing_frame"))));
    EXPECT_EQ(closing.reason, (CloseReason{6, "wrong password", std::nullopt}));
    auto refusal = std::get<Closing>(decode_server_message(payload_of(v("refusal_frame"))));
    EXPECT_EQ(refusal.reason,
              (CloseReason{15, "too many failures from your address; try again in 4m 30s", 270000u}));
    EXPECT_EQ(v("refusal_frame")[4], 0x04);  // a closing, where a hello starts with 0x4c
    auto rejected = std::get<NameRejected>(decode_server_message(payload_of(v("name_rejected_frame"))));
    EXPECT_EQ(rejected.reason, "display name is empty");
    EXPECT_EQ(rejected.attempts_left, 2);
}

TEST(Vectors, RefusalInsteadOfHelloEndsTheHandshakeWithRetryMs) {
    ClientHandshake handshake({"pw", "Ada"});
    Bytes payload(v("refusal_frame").begin() + 4, v("refusal_frame").end());
    try {
        handshake.receive_hello(payload, u64("not_before"));
        FAIL() << "a refusal must end the handshake";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::closed_by_server);
        ASSERT_TRUE(error.close_reason());
        EXPECT_EQ(error.close_reason()->code, close_code::refused);
        EXPECT_EQ(error.retry_after_ms(), 270000u);
    }
    EXPECT_EQ(handshake.state(), ClientHandshake::State::failed);
}

TEST(Vectors, KeyUpdate) {
    SessionKeys keys = session_keys();
    DirectionKeys sealer(keys.c2s_key, keys.c2s_iv);
    sealer.seal(v("c2s_0_payload"));
    sealer.seal(v("c2s_1_payload"));
    Secret secret = secret_of(v("key_update_secret"));
    Bytes update = client_message::key_update(secret, true);
    EXPECT_EQ(update, v("c2s_2_payload"));
    EXPECT_EQ(sealer.nonce(sealer.counter()), v("c2s_nonce_2"));
    EXPECT_EQ(encode_frame(sealer.seal(update)), v("c2s_2_frame"));
    const Bytes& info = v("key_update_info");
    EXPECT_EQ(std::string(info.begin(), info.end()), "laboratory v1 key update");
    EXPECT_EQ(key_update_material(secret, keys.c2s_key), v("key_update_okm"));
    sealer.update(secret);
    EXPECT_EQ(sealer.key(), v("updated_c2s_key"));
    EXPECT_EQ(sealer.iv(), v("updated_c2s_iv"));
    EXPECT_EQ(sealer.counter(), 0u);
    EXPECT_EQ(client_message::ping(1), v("updated_c2s_0_payload"));
    EXPECT_EQ(encode_frame(sealer.seal(client_message::ping(1))), v("updated_c2s_0_frame"));
    // The server side of the same update: it opens the update under the old key, then switches.
    DirectionKeys server_opener(keys.c2s_key, keys.c2s_iv);
    for (const char* name : {"c2s_0_frame", "c2s_1_frame", "c2s_2_frame"}) {
        ASSERT_TRUE(server_opener.open(Bytes(v(name).begin() + 4, v(name).end())));
    }
    server_opener.update(secret);
    auto ping = server_opener.open(Bytes(v("updated_c2s_0_frame").begin() + 4, v("updated_c2s_0_frame").end()));
    ASSERT_TRUE(ping);
    EXPECT_EQ(*ping, v("updated_c2s_0_payload"));
}

// Runs last in this file (GoogleTest keeps definition order): every vector was checked above.
TEST(Vectors, EveryVectorIsUsed) {
    std::vector<std::string> unused;
    for (const auto& entry : all()) {
        if (!used().count(entry.first)) unused.push_back(entry.first);
    }
    EXPECT_TRUE(unused.empty()) << "vectors no test checks: " << ::testing::PrintToString(unused);
    EXPECT_GE(all().size(), 40u);
}
