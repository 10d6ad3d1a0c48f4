// What the live suites share: one server per suite, and options that pin it.
#pragma once

#include <memory>

#include "laboratory/client.hpp"
#include "support/server_process.hpp"

namespace laboratory::test {

/// Options for a client of `server` that pins its key.
inline ClientOptions pinned_options(const ServerProcess& server, const std::string& name) {
    ClientOptions options;
    options.host = "127.0.0.1";
    options.port = server.port();
    options.password = server_password;
    options.name = name;
    options.trust = Trust::pinned(server.fingerprint());
    return options;
}

/// Waits for the first event the predicate accepts, keeping none of the others; fails the test
/// after `timeout`.
template <typename Predicate>
std::optional<SessionEvent> wait_for(Client& client, Predicate accept,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto event = client.wait_event(left);
        if (!event) return std::nullopt;
        if (accept(*event)) return event;
        if (std::holds_alternative<Closed>(*event)) return event;
    }
}

}  // namespace laboratory::test
