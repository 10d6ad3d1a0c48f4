// Attacks on the client with a real server behind them: a server key the client does not trust,
// frames altered on the way (hello, handshake, session), a wrong password and the lockout that
// follows (code 15 with retry_ms).
#include <gtest/gtest.h>

#include "laboratory/known_hosts.hpp"
#include "support/live.hpp"
#include "support/paths.hpp"
#include "support/socket_pair.hpp"

using namespace laboratory;
using namespace std::chrono_literals;

namespace {
test::ServerProcess& server() {
    static test::ServerProcess shared;
    return shared;
}

Error connect_failure(const ClientOptions& options) {
    try {
        Client::connect(options);
    } catch (const Error& error) {
        return error;
    }
    ADD_FAILURE() << "the connection succeeded";
    return Error(Error::Kind::closed, "no failure");
}
}  // namespace

TEST(LiveAdversarial, WrongPinnedFingerprintIsRefused) {
    ClientOptions options = test::pinned_options(server(), "Pinned");
    options.trust = Trust::pinned("SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q");  // another server's key
    Error error = connect_failure(options);
    EXPECT_EQ(error.kind(), Error::Kind::untrusted_key);
    EXPECT_NE(std::string(error.what()).find(server().fingerprint()), std::string::npos)
        << "the mismatch shows the whole fingerprint: " << error.what();
}

TEST(LiveAdversarial, AKnownHostsEntryForAnotherKeyIsAMismatchEvenWithAcceptNew) {
    std::string path = test::temporary_directory() + "/known_hosts";
    KnownHostsFile file(path);
    file.add("127.0.0.1", server().port(), "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q");
    ClientOptions options = test::pinned_options(server(), "Known");
    options.trust = Trust::known_hosts(path, true);
    EXPECT_EQ(connect_failure(options).kind(), Error::Kind::untrusted_key);
    // The recorded key is left alone: a mismatch never rewrites the file.
    EXPECT_EQ(KnownHostsFile(path).lookup("127.0.0.1", server().port()),
              "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q");
}

TEST(LiveAdversarial, ATamperedHelloFailsTheCertificate) {
    test::TamperProxy proxy(server().port(), 0);
    ClientOptions options = test::pinned_options(server(), "Hello");
    options.port = proxy.port();
    EXPECT_EQ(connect_failure(options).kind(), Error::Kind::bad_certificate);
    EXPECT_TRUE(proxy.tampered());
}

TEST(LiveAdversarial, ATamperedHandshakeFrameFailsToOpen) {
    test::TamperProxy proxy(server().port(), 1);  // the sealed passwordPrompt
    ClientOptions options = test::pinned_options(server(), "Handshake");
    options.port = proxy.port();
    EXPECT_EQ(connect_failure(options).kind(), Error::Kind::decryption_failed);
    EXPECT_TRUE(proxy.tampered());
}

TEST(LiveAdversarial, ATamperedSessionFrameClosesTheSession) {
    test::TamperProxy proxy(server().port(), 4);  // hello, 3 handshake frames, then the first response
    ClientOptions options = test::pinned_options(server(), "Session");
    options.port = proxy.port();
    auto client = Client::connect(options);
    try {
        client->echo("through the proxy");
        FAIL() << "a tampered response was accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::decryption_failed) << error.what();
    }
    EXPECT_TRUE(proxy.tampered());
    EXPECT_TRUE(client->is_closed());
    ASSERT_TRUE(client->closed_reason());
    EXPECT_EQ(client->closed_reason()->error, Error::Kind::decryption_failed);
    // Nothing more goes out once a frame failed.
    EXPECT_THROW(client->send_request("echo", {}), Error);
}

TEST(LiveAdversarial, WrongPasswordsEndWithCode6ThenTheSourceIsRefusedWithRetryMs) {
    test::ServerProcess own;  // penalties would spoil the other tests' server
    ClientOptions options = test::pinned_options(own, "Guesser");
    options.password = "not the password";
    // PROTOCOL.md §9: each wrong password earns 5 s of penalty, which drains in real time, and a
    // source is refused once 15 s remain: with the defaults the connection after the fourth is
    // refused. A loaded machine drains more between attempts, so allow a few more; never fewer
    // than three (three take at least 3 s, so less than 15 s remain).
    int wrong = 0;
    std::optional<Error> refusal;
    while (wrong < 8 && !refusal) {
        Error error = connect_failure(options);
        ASSERT_EQ(error.kind(), Error::Kind::closed_by_server) << error.what();
        ASSERT_TRUE(error.close_reason());
        if (error.close_reason()->code == close_code::refused) {
            refusal = error;
        } else {
            EXPECT_EQ(error.close_reason()->code, close_code::wrong_password);
            EXPECT_FALSE(error.retry_after_ms());
            ++wrong;
        }
    }
    EXPECT_GE(wrong, 3);
    ASSERT_TRUE(refusal) << "no refusal after " << wrong << " wrong passwords";
    Error refused = *refusal;
    EXPECT_EQ(refused.close_reason()->code, close_code::refused);
    ASSERT_TRUE(refused.retry_after_ms());
    EXPECT_GT(*refused.retry_after_ms(), 0u);
    EXPECT_LE(*refused.retry_after_ms(), 600'000u);
    // Even the right password is refused until then.
    ClientOptions right = test::pinned_options(own, "Guesser");
    Error still = connect_failure(right);
    EXPECT_EQ(still.close_reason() ? still.close_reason()->code : 0, close_code::refused);
}
