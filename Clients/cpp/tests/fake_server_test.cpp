// The connection against a fake server on a real loopback socket: what it sends (nothing at all)
// when the server's key or certificate is wrong, and how it treats frames no real server sends.
#include <gtest/gtest.h>

#include "laboratory/client.hpp"
#include "laboratory/crypto.hpp"
#include "support/paths.hpp"
#include "support/socket_pair.hpp"

using namespace laboratory;

namespace {
const std::map<std::string, Bytes>& vectors() {
    static const auto v = test::protocol_vectors();
    return v;
}

std::uint64_t documented_now() {
    ByteReader r(vectors().at("not_before"));
    return r.u64();
}

ClientOptions options_for(std::uint16_t port, Trust trust) {
    ClientOptions options;
    options.port = port;
    options.password = "pw";
    options.name = "Ada";
    options.trust = std::move(trust);
    options.clock = documented_now;  // the documented hello's window
    options.handshake_timeout = std::chrono::seconds(5);
    return options;
}

Error::Kind connect_error(ClientOptions options) {
    try {
        Client::connect(std::move(options));
    } catch (const Error& error) {
        return error.kind();
    }
    return Error::Kind::closed;
}
}  // namespace

TEST(FakeServer, AWrongPinSendsNothingAndCloses) {
    test::FakeServer server(encode_frame(vectors().at("hello_payload")));
    auto kind = connect_error(options_for(server.port(), Trust::pinned("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")));
    EXPECT_EQ(kind, Error::Kind::untrusted_key);
    EXPECT_TRUE(server.client_closed());
    EXPECT_EQ(server.received().size(), 0u);
}

TEST(FakeServer, AnUnknownServerWithoutAcceptNewSendsNothing) {
    test::FakeServer server(encode_frame(vectors().at("hello_payload")));
    std::string path = test::temporary_directory() + "/known_hosts";
    EXPECT_EQ(connect_error(options_for(server.port(), Trust::known_hosts(path, false))), Error::Kind::untrusted_key);
    EXPECT_EQ(server.received().size(), 0u);
}

TEST(FakeServer, AForgedCertificateSendsNothingEvenWithTheRightPin) {
    Bytes hello = vectors().at("hello_payload");
    hello[hello.size() - 40] ^= 0x01;  // inside the signature
    test::FakeServer server(encode_frame(hello));
    std::string pin = crypto::fingerprint(vectors().at("identity_spki"));
    EXPECT_EQ(connect_error(options_for(server.port(), Trust::pinned(pin))), Error::Kind::bad_certificate);
    EXPECT_EQ(server.received().size(), 0u);
}

TEST(FakeServer, AnExpiredTransportKeySendsNothing) {
    test::FakeServer server(encode_frame(vectors().at("hello_payload")));
    ClientOptions options = options_for(server.port(), Trust::pinned(crypto::fingerprint(vectors().at("identity_spki"))));
    options.clock = [] { return documented_now() + 630'000 + 600'001; };
    EXPECT_EQ(connect_error(std::move(options)), Error::Kind::bad_certificate);
    EXPECT_EQ(server.received().size(), 0u);
}

TEST(FakeServer, TheRightPinSendsExactlyOneKeyExchangeThenWaits) {
    test::FakeServer server(encode_frame(vectors().at("hello_payload")), std::chrono::seconds(3));
    ClientOptions options = options_for(server.port(), Trust::pinned(crypto::fingerprint(vectors().at("identity_spki"))));
    options.handshake_timeout = std::chrono::milliseconds(1500);
    // The fake server never answers, so the client's own handshake deadline ends it.
    EXPECT_EQ(connect_error(std::move(options)), Error::Kind::timed_out);
    Bytes sent = server.received();
    ASSERT_EQ(sent.size(), 4u + 256u);  // one frame: the 256-byte RSA-OAEP ciphertext
    EXPECT_EQ(Bytes(sent.begin(), sent.begin() + 4), (Bytes{0, 0, 1, 0}));
}

TEST(FakeServer, AnOversizedFrameEndsTheConnection) {
    test::FakeServer server(Bytes{0x7F, 0xFF, 0xFF, 0xFF});
    ClientOptions options = options_for(server.port(), Trust::pinned(crypto::fingerprint(vectors().at("identity_spki"))));
    EXPECT_EQ(connect_error(std::move(options)), Error::Kind::protocol_violation);
    EXPECT_TRUE(server.client_closed());
}

TEST(FakeServer, ARefusalInsteadOfTheHelloReportsRetryMs) {
    test::FakeServer server(vectors().at("refusal_frame"));
    ClientOptions options = options_for(server.port(), Trust::pinned(crypto::fingerprint(vectors().at("identity_spki"))));
    try {
        Client::connect(std::move(options));
        FAIL() << "a refusal must fail the connection";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::closed_by_server);
        EXPECT_EQ(error.retry_after_ms(), 270000u);
    }
    EXPECT_EQ(server.received().size(), 0u);
}
