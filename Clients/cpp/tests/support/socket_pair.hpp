// Loopback sockets the adversarial tests own: a fake server that sends chosen bytes, and a proxy
// that tampers with one frame from the real server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "laboratory/bytes.hpp"

namespace laboratory::test {

/// Listens on 127.0.0.1, port chosen by the kernel.
int listen_loopback(std::uint16_t& port);

/// Accepts one connection, sends `greeting`, then reads until the client closes (or `timeout`),
/// counting what the client sent.
class FakeServer {
public:
    explicit FakeServer(Bytes greeting, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~FakeServer();
    std::uint16_t port() const { return port_; }
    /// Waits for the client to close; returns the bytes it sent.
    Bytes received();
    /// Whether the client closed its side (rather than the timeout ending the wait).
    bool client_closed();

private:
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    Bytes received_;
    bool closed_ = false;
};

/// Forwards one client connection to 127.0.0.1:`upstream`, flipping one bit in the payload of
/// the server-to-client frame number `tamper_frame` (0 is the hello).
class TamperProxy {
public:
    TamperProxy(std::uint16_t upstream, int tamper_frame);
    ~TamperProxy();
    std::uint16_t port() const { return port_; }
    bool tampered() const { return tampered_; }

private:
    void run(std::uint16_t upstream, int tamper_frame);
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> tampered_{false};
    std::thread thread_;
};

}  // namespace laboratory::test
