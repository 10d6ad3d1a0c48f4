// laboratory-cpp-bench: handshakes per second and echo round trips per second of this library
// against a running server, one connection at a time (the same shape as laboratory-bench's
// `handshake` at concurrency 1 and `echo` at 1 connection with 64-byte bodies).
//
//   laboratory-cpp-bench --port P --fingerprint SHA256:... --password-file F [--seconds 2] [--repetitions 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "laboratory/client.hpp"

using namespace laboratory;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
    ClientOptions options;
    double seconds = 2.0;
    int repetitions = 3;
    std::string fingerprint, password_file;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", arg.c_str());
                std::exit(64);
            }
            return argv[++i];
        };
        if (arg == "--host") options.host = value();
        else if (arg == "--port") options.port = static_cast<std::uint16_t>(std::stoi(value()));
        else if (arg == "--fingerprint") fingerprint = value();
        else if (arg == "--password-file") password_file = value();
        else if (arg == "--seconds") seconds = std::stod(value());
        else if (arg == "--repetitions") repetitions = std::stoi(value());
        else {
            std::fprintf(stderr, "usage: laboratory-cpp-bench --port P --fingerprint FP --password-file F [--host H] [--seconds S] [--repetitions N]\n");
            return 64;
        }
    }
    std::ifstream file(password_file);
    std::getline(file, options.password);
    options.name = "bench";
    try {
        options.trust = Trust::pinned(fingerprint);
        std::vector<double> handshakes, echoes;
        const std::string body(64, 'x');
        for (int r = 0; r < repetitions; ++r) {
            // Handshakes: connect, accepted, bye, the server's closing; again.
            auto start = Clock::now();
            int count = 0;
            while (seconds_since(start) < seconds) {
                auto client = Client::connect(options);
                auto reason = client->close();
                if (!reason || reason->code != close_code::normal) throw Error(Error::Kind::closed, "bad close");
                ++count;
            }
            handshakes.push_back(count / seconds_since(start));
            // Echo round trips on one connection, one request outstanding.
            auto client = Client::connect(options);
            for (int w = 0; w < 200; ++w) client->echo(body);  // warm-up
            start = Clock::now();
            count = 0;
            while (seconds_since(start) < seconds) {
                if (client->echo(body) != body) throw Error(Error::Kind::protocol_violation, "echo differs");
                ++count;
            }
            echoes.push_back(count / seconds_since(start));
            client->close();
        }
        std::printf("C++ client: handshakes/s (concurrency 1): %.1f  (median of %d x %.1f s)\n", median(handshakes),
                    repetitions, seconds);
        std::printf("C++ client: echo round trips/s (1 connection, 64 B): %.0f  (median of %d x %.1f s)\n",
                    median(echoes), repetitions, seconds);
    } catch (const Error& error) {
        std::fprintf(stderr, "laboratory-cpp-bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
