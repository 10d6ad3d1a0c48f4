// The known-hosts format on the cases the Swift and Python tests share
// (Clients/python/tests/known_hosts_cases.json), and the pin form of PROTOCOL.md §4.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "laboratory/client.hpp"
#include "laboratory/json.hpp"
#include "laboratory/known_hosts.hpp"
#include "support/paths.hpp"

using namespace laboratory;

namespace {
Json cases() {
    return Json::parse(test::read_text(test::repo_root() + "/Clients/python/tests/known_hosts_cases.json"));
}
}  // namespace

TEST(KnownHosts, EndpointKeys) {
    Json json = cases();
    const Json* endpoints = json.find("endpoints");
    ASSERT_TRUE(endpoints);
    ASSERT_GE(endpoints->items().size(), 7u);
    for (const Json& item : endpoints->items()) {
        EXPECT_EQ(KnownHostsFile::endpoint(*item.string_at("host"), static_cast<std::uint16_t>(*item.u64_at("port"))),
                  *item.string_at("key"));
    }
}

TEST(KnownHosts, Lookups) {
    Json json = cases();
    std::string directory = test::temporary_directory();
    std::string path = directory + "/known_hosts";
    std::ofstream(path, std::ios::binary) << *json.string_at("file");
    KnownHostsFile file(path);
    const Json* lookups = json.find("lookups");
    ASSERT_TRUE(lookups);
    ASSERT_GE(lookups->items().size(), 16u);
    for (const Json& item : lookups->items()) {
        std::string host = *item.string_at("host");
        auto port = static_cast<std::uint16_t>(*item.u64_at("port"));
        EXPECT_EQ(file.lookup(host, port), item.string_at("fingerprint")) << host << ":" << port;
    }
}

TEST(KnownHosts, AddKeepsCommentsAndMalformedLinesAndReplacesTheEntry) {
    Json json = cases();
    std::string directory = test::temporary_directory();
    std::string path = directory + "/sub/known_hosts";
    ASSERT_EQ(::mkdir((directory + "/sub").c_str(), 0700), 0);
    std::ofstream(path, std::ios::binary) << *json.string_at("file");
    KnownHostsFile file(path);
    file.add("HOST.example", 1, "SHA256:replaced");
    file.add("::1", 12800, "SHA256:new");
    std::string text = test::read_text(path);
    EXPECT_EQ(KnownHostsFile(path).lookup("host.example", 1), "SHA256:replaced");
    EXPECT_EQ(text.find("SHA256:one\n"), std::string::npos);
    EXPECT_EQ(text.find("second-entry-ignored"), std::string::npos);
    EXPECT_NE(text.find("# a comment\n"), std::string::npos);
    EXPECT_NE(text.find("malformed-no-port SHA256:x\n"), std::string::npos);
    std::string tail = "host.example:1 SHA256:replaced\n[::1]:12800 SHA256:new\n";
    EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(KnownHosts, AddCreatesTheFileAndItsFolders) {
    std::string path = test::temporary_directory() + "/a/b/known_hosts";
    KnownHostsFile file(path);
    EXPECT_EQ(file.lookup("h", 1), std::nullopt);
    file.add("H", 1, "SHA256:x");
    EXPECT_EQ(test::read_text(path), "h:1 SHA256:x\n");
}

TEST(KnownHosts, APinOfAnotherFormIsRefusedAsMalformedNotAsAMismatch) {
    const std::string good = "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q";
    EXPECT_NO_THROW(Trust::pinned(good));
    for (const std::string& bad : {std::string("SHA256:nope"), good + "=", good.substr(0, good.size() - 1),
                                   "sha256:" + good.substr(7), good.substr(7), "MD5:" + good.substr(7),
                                   "SHA256:" + std::string(43, '-'), " " + good}) {
        try {
            Trust::pinned(bad);
            ADD_FAILURE() << "accepted the pin " << bad;
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), Error::Kind::invalid_argument);
            EXPECT_NE(std::string(error.what()).find("is not a key fingerprint"), std::string::npos);
        }
    }
}

TEST(KnownHosts, TrustDecisions) {
    std::string path = test::temporary_directory() + "/known_hosts";
    bool record = false;
    Trust strict = Trust::known_hosts(path, false);
    EXPECT_NE(strict.decide("127.0.0.1", 5, "SHA256:a", record), std::nullopt);  // unknown: refused
    Trust tofu = Trust::known_hosts(path, true);
    EXPECT_EQ(tofu.decide("127.0.0.1", 5, "SHA256:a", record), std::nullopt);
    EXPECT_TRUE(record);
    tofu.record("127.0.0.1", 5, "SHA256:a");
    EXPECT_EQ(strict.decide("127.0.0.1", 5, "SHA256:a", record), std::nullopt);
    EXPECT_FALSE(record);
    auto mismatch = tofu.decide("127.0.0.1", 5, "SHA256:b", record);  // a changed key is never accepted
    ASSERT_TRUE(mismatch);
    EXPECT_NE(mismatch->find("mismatch"), std::string::npos);
}
