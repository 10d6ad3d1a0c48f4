// Uses the installed headers and library. Offline it checks a few known answers (SHA-256 through
// OpenSSL, the record layer, the known-hosts endpoint form); with HOST PORT FINGERPRINT and
// LABORATORY_PASSWORD it also echoes through a live server.
#include <laboratory/chat.hpp>
#include <laboratory/client.hpp>
#include <laboratory/crypto.hpp>
#include <laboratory/known_hosts.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    using namespace laboratory;
    bool ok = to_hex(crypto::sha256(Bytes{'a', 'b', 'c'})) ==
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" &&
              KnownHostsFile::endpoint("::1", 12800) == "[::1]:12800" &&
              [] {
                  Bytes body = chat::say_body("lobby", "hi");
                  return std::string(body.begin(), body.end());
              }() == "{\"op\":\"say\",\"room\":\"lobby\",\"text\":\"hi\"}";
    if (!ok) {
        std::fprintf(stderr, "consumer: a known answer differs\n");
        return 1;
    }
    if (argc == 4) {
        ClientOptions options;
        options.host = argv[1];
        options.port = static_cast<std::uint16_t>(std::atoi(argv[2]));
        options.trust = Trust::pinned(argv[3]);
        options.password = std::getenv("LABORATORY_PASSWORD") ? std::getenv("LABORATORY_PASSWORD") : "";
        options.name = "consumer";
        auto client = Client::connect(options);
        if (client->echo("installed") != "installed") return 1;
        client->close();
        std::printf("consumer: echoed through %s:%s\n", argv[1], argv[2]);
    }
    std::printf("consumer: ok\n");
    return 0;
}
