// A live session against a real laboratory-server started by the test (port 0, a password file, a
// state directory of its own): echo, known hosts, key updates in both directions, non-blocking
// use, renames, name retries, clean closes with their documented codes.
#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "laboratory/known_hosts.hpp"
#include "support/live.hpp"
#include "support/paths.hpp"

using namespace laboratory;
using namespace std::chrono_literals;

namespace {
test::ServerProcess& server() {
    static test::ServerProcess shared;
    return shared;
}
}  // namespace

TEST(LiveSession, BlockingEchoThenByeClosesWithCode1) {
    auto client = Client::connect(test::pinned_options(server(), "Ada"));
    EXPECT_EQ(client->fingerprint(), server().fingerprint());
    EXPECT_EQ(client->acceptance().server_name, "Laboratory");
    EXPECT_EQ(client->acceptance().services, (std::vector<std::string>{"echo", "chat"}));
    EXPECT_EQ(client->echo("hello"), "hello");
    std::string large(200'000, 'x');
    for (std::size_t i = 0; i < large.size(); i += 7) large[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(client->echo(large), large);
    EXPECT_EQ(client->echo(""), "");
    // One byte over the largest sealed message is refused before anything is sent.
    EXPECT_THROW(client->request("echo", Bytes(default_max_payload - 16 - 15 - 4 + 1, 0)), Error);
    EXPECT_EQ(client->echo(std::string(default_max_payload - 16 - 15 - 4, 'm')).size(), default_max_payload - 35);
    Response unknown = client->request("no-such-service", {});
    EXPECT_EQ(unknown.status, status::unknown_service);
    auto reason = client->close();
    ASSERT_TRUE(reason);
    EXPECT_EQ(reason->code, close_code::normal);
    EXPECT_TRUE(client->is_closed());
    EXPECT_THROW(client->echo("after the end"), Error);
}

TEST(LiveSession, TrustOnFirstUseWritesAKnownHostsFileTheSwiftClientReads) {
    std::string directory = test::temporary_directory();
    std::string path = directory + "/known_hosts";
    ClientOptions options = test::pinned_options(server(), "Tofu");
    options.trust = Trust::known_hosts(path, false);
    try {
        Client::connect(options);
        FAIL() << "an unknown server must be refused without accept_new";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::untrusted_key);
    }
    options.trust = Trust::known_hosts(path, true);
    Client::connect(options)->close();
    EXPECT_EQ(test::read_text(path), "127.0.0.1:" + std::to_string(server().port()) + " " + server().fingerprint() + "\n");
    options.trust = Trust::known_hosts(path, false);  // now known: no acceptance needed
    EXPECT_EQ(Client::connect(options)->echo("known"), "known");
    // The Swift client trusts the same file without being told the key.
    test::Process swift({test::client_binary(), "echo", "127.0.0.1:" + std::to_string(server().port()), "from swift",
                         "--name", "SwiftEcho", "--password-file", server().password_file(), "--known-hosts", path},
                        {"XDG_CONFIG_HOME=" + directory, "HOME=" + directory});
    EXPECT_EQ(swift.wait(30s), 0) << ::testing::PrintToString(swift.lines());
    EXPECT_TRUE(swift.saw("from swift"));
}

TEST(LiveSession, KeyUpdatesInBothDirections) {
    auto client = Client::connect(test::pinned_options(server(), "Rekey"));
    // Ask the server to update its direction too: its keyUpdate must arrive, and be followed.
    client->update_keys(true);
    EXPECT_EQ(client->echo("after one update"), "after one update");
    EXPECT_EQ(client->key_updates_sent(), 1u);
    EXPECT_EQ(client->key_updates_received(), 1u);
    // Many in a row, without asking: only our direction changes, every frame still opens.
    for (int i = 0; i < 5; ++i) client->update_keys(false);
    EXPECT_EQ(client->echo("after six"), "after six");
    EXPECT_EQ(client->key_updates_sent(), 6u);
    EXPECT_EQ(client->key_updates_received(), 1u);
    for (int i = 0; i < 3; ++i) client->update_keys(true);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(client->echo("round " + std::to_string(i)), "round " + std::to_string(i));
    EXPECT_EQ(client->key_updates_received(), 4u);
    EXPECT_EQ(client->close()->code, close_code::normal);
}

TEST(LiveSession, NonBlockingPollLoopDrivesTwoClientsWithPipelinedRequests) {
    std::vector<std::unique_ptr<Client>> clients;
    clients.push_back(Client::start(test::pinned_options(server(), "Poll1")));
    clients.push_back(Client::start(test::pinned_options(server(), "Poll2")));
    std::vector<std::map<std::uint64_t, std::string>> expected(2);
    std::vector<std::size_t> answered(2, 0);
    const int per_client = 32;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && (answered[0] < per_client || answered[1] < per_client)) {
        std::vector<pollfd> fds;
        for (auto& client : clients) fds.push_back({client->fd(), client->poll_events(), 0});
        ASSERT_GE(::poll(fds.data(), fds.size(), 1000), 0);
        for (std::size_t i = 0; i < clients.size(); ++i) {
            clients[i]->handle(fds[i].revents);
            while (auto event = clients[i]->next_event()) {
                if (std::holds_alternative<Accepted>(*event)) {
                    for (int k = 0; k < per_client; ++k) {  // all at once, before any answer
                        std::string text = "client " + std::to_string(i) + " request " + std::to_string(k);
                        expected[i][clients[i]->send_request("echo", Bytes(text.begin(), text.end()))] = text;
                    }
                } else if (auto* response = std::get_if<Response>(&*event)) {
                    ASSERT_TRUE(expected[i].count(response->request_id));
                    EXPECT_EQ(std::string(response->body.begin(), response->body.end()), expected[i][response->request_id]);
                    ++answered[i];
                } else if (auto* closed = std::get_if<Closed>(&*event)) {
                    FAIL() << "closed: " << closed->message;
                }
            }
        }
    }
    EXPECT_EQ(answered, (std::vector<std::size_t>{per_client, per_client}));
    for (auto& client : clients) EXPECT_EQ(client->close()->code, close_code::normal);
}

TEST(LiveSession, ServerNamePingAndPong) {
    auto client = Client::connect(test::pinned_options(server(), "Pinger"));
    client->send_server_name_query();
    client->send_ping(0xDEADBEEF);
    auto name = test::wait_for(client.operator*(), [](const SessionEvent& e) { return std::holds_alternative<ServerName>(e); });
    ASSERT_TRUE(name && std::holds_alternative<ServerName>(*name));
    EXPECT_EQ(std::get<ServerName>(*name).name, "Laboratory");
    auto pong = test::wait_for(*client, [](const SessionEvent& e) { return std::holds_alternative<Pong>(e); });
    ASSERT_TRUE(pong && std::holds_alternative<Pong>(*pong));
    EXPECT_EQ(std::get<Pong>(*pong).value, 0xDEADBEEFu);
    client->close();
}

TEST(LiveSession, RenameAcceptedAndRefusedTheSessionGoesOn) {
    auto client = Client::connect(test::pinned_options(server(), "Before"));
    EXPECT_EQ(client->rename("After Rename").status, status::ok);
    Response refused = client->rename(" leading space");
    EXPECT_EQ(refused.status, status::rejected);
    EXPECT_NE(refused.error_message.find("whitespace"), std::string::npos) << refused.error_message;
    EXPECT_EQ(client->echo("still here"), "still here");
    client->close();
}

TEST(LiveSession, NameRejectedIsRetriedWithTheCallersNextName) {
    ClientOptions options = test::pinned_options(server(), " bad name");
    std::vector<NameRejected> rejections;
    options.retry_name = [&](const NameRejected& rejection) -> std::optional<std::string> {
        rejections.push_back(rejection);
        return rejections.size() == 1 ? std::optional<std::string>("") : std::optional<std::string>("Good Name");
    };
    auto client = Client::connect(options);
    ASSERT_EQ(rejections.size(), 2u);
    EXPECT_EQ(rejections[0].attempts_left, 2);
    EXPECT_EQ(rejections[1].attempts_left, 1);
    EXPECT_NE(rejections[1].reason.find("empty"), std::string::npos) << rejections[1].reason;
    EXPECT_EQ(client->echo("named"), "named");
    client->close();
}

TEST(LiveSession, GivingUpANameOrRunningOutOfAttempts) {
    ClientOptions options = test::pinned_options(server(), "");
    try {
        Client::connect(options);  // no retry callback: give up at the first rejection
        FAIL();
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::name_rejected);
    }
    options.retry_name = [](const NameRejected&) { return std::optional<std::string>(""); };
    try {
        Client::connect(options);  // always invalid: the server closes with code 7 after 3 names
        FAIL();
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::closed_by_server);
        ASSERT_TRUE(error.close_reason());
        EXPECT_EQ(error.close_reason()->code, close_code::invalid_name);
    }
}

TEST(LiveSession, GracefulServerStopSendsServerStoppingThenCode9) {
    test::ServerProcess own;
    auto client = Client::connect(test::pinned_options(own, "Stopping"));
    EXPECT_EQ(client->echo("before"), "before");
    std::thread stopper([&] { own.stop(); });
    auto stopping = test::wait_for(*client, [](const SessionEvent& e) { return std::holds_alternative<ServerStopping>(e); });
    ASSERT_TRUE(stopping && std::holds_alternative<ServerStopping>(*stopping));
    EXPECT_GT(std::get<ServerStopping>(*stopping).grace_ms, 0u);
    EXPECT_EQ(client->echo("during the grace period"), "during the grace period");
    auto closed = test::wait_for(*client, [](const SessionEvent& e) { return std::holds_alternative<Closed>(e); }, 20s);
    stopper.join();
    ASSERT_TRUE(closed && std::holds_alternative<Closed>(*closed));
    ASSERT_TRUE(std::get<Closed>(*closed).reason);
    EXPECT_EQ(std::get<Closed>(*closed).reason->code, close_code::server_stopping);
}
