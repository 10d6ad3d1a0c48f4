#include "support/socket_pair.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace laboratory::test {

int listen_loopback(std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 8) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("cannot listen on loopback");
    }
    port = ntohs(address.sin_port);
    return fd;
}

namespace {
bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

bool send_all(int fd, const std::uint8_t* data, std::size_t count) {
    while (count > 0) {
        ssize_t n = ::send(fd, data, count, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        count -= static_cast<std::size_t>(n);
    }
    return true;
}
}  // namespace

FakeServer::FakeServer(Bytes greeting, std::chrono::milliseconds timeout) {
    listener_ = listen_loopback(port_);
    thread_ = std::thread([this, greeting = std::move(greeting), timeout] {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        if (!wait_readable(listener_, deadline)) return;
        int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        send_all(fd, greeting.data(), greeting.size());
        std::uint8_t buffer[4096];
        while (wait_readable(fd, deadline)) {
            ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            received_.insert(received_.end(), buffer, buffer + n);
        }
        ::close(fd);
    });
}

FakeServer::~FakeServer() {
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
}

Bytes FakeServer::received() {
    if (thread_.joinable()) thread_.join();
    return received_;
}

bool FakeServer::client_closed() {
    if (thread_.joinable()) thread_.join();
    return closed_;
}

TamperProxy::TamperProxy(std::uint16_t upstream, int tamper_frame) {
    listener_ = listen_loopback(port_);
    thread_ = std::thread([this, upstream, tamper_frame] { run(upstream, tamper_frame); });
}

TamperProxy::~TamperProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
}

void TamperProxy::run(std::uint16_t upstream, int tamper_frame) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    if (!wait_readable(listener_, deadline)) return;
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(upstream);
    if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(client);
        ::close(server);
        return;
    }
    // Server-to-client bytes are cut into frames so exactly one frame's payload is altered.
    Bytes pending;
    int frame = 0;
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
        pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (::poll(p, 2, 100) <= 0) continue;
        std::uint8_t buffer[65536];
        if (p[0].revents) {
            ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
            if (n <= 0 || !send_all(server, buffer, static_cast<std::size_t>(n))) break;
        }
        if (p[1].revents) {
            ssize_t n = ::recv(server, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            pending.insert(pending.end(), buffer, buffer + n);
            while (pending.size() >= 4) {
                std::size_t length = (std::size_t{pending[0]} << 24) | (std::size_t{pending[1]} << 16) |
                                     (std::size_t{pending[2]} << 8) | pending[3];
                if (pending.size() < 4 + length) break;
                if (frame == tamper_frame && length > 0) {
                    pending[4 + length / 2] ^= 0x01;
                    tampered_ = true;
                }
                ++frame;
                if (!send_all(client, pending.data(), 4 + length)) break;
                pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(4 + length));
            }
        }
    }
    ::close(client);
    ::close(server);
}

}  // namespace laboratory::test
