#include "laboratory/client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>

#include "laboratory/crypto.hpp"
#include "laboratory/known_hosts.hpp"

namespace laboratory {

using Clock = std::chrono::steady_clock;

// ---- Trust ----------------------------------------------------------------------------------

Trust Trust::pinned(const std::string& fingerprint) {
    if (!crypto::is_fingerprint(fingerprint)) {
        throw Error(Error::Kind::invalid_argument,
                    "\"" + fingerprint + "\" is not a key fingerprint (expected SHA256: and 43 base64 characters)");
    }
    Trust trust;
    trust.mode_ = Mode::pinned;
    trust.value_ = fingerprint;
    return trust;
}

Trust Trust::known_hosts(std::string path, bool accept_new) {
    Trust trust;
    trust.mode_ = Mode::known_hosts;
    trust.value_ = path.empty() ? KnownHostsFile::default_path() : std::move(path);
    trust.accept_new_ = accept_new;
    return trust;
}

Trust Trust::custom(std::function<std::optional<std::string>(const std::string&)> decide) {
    Trust trust;
    trust.mode_ = Mode::custom;
    trust.decide_ = std::move(decide);
    return trust;
}

std::optional<std::string> Trust::decide(const std::string& host, std::uint16_t port, const std::string& fingerprint,
                                         bool& record) const {
    record = false;
    switch (mode_) {
        case Mode::pinned:
            if (fingerprint == value_) return std::nullopt;
            return "server key mismatch: the server's key is " + fingerprint + ", the pinned key is " + value_;
        case Mode::custom: return decide_(fingerprint);
        case Mode::known_hosts: {
            KnownHostsFile file(value_);
            auto known = file.lookup(host, port);
            if (known) {
                if (*known == fingerprint) return std::nullopt;
                return "server key mismatch for " + KnownHostsFile::endpoint(host, port) + ": the server's key is " +
                       fingerprint + ", " + value_ + " records " + *known;
            }
            if (accept_new_) {
                record = true;
                return std::nullopt;
            }
            return "unknown server " + KnownHostsFile::endpoint(host, port) + " with key " + fingerprint +
                   ": pin it, or accept new keys to record it in " + value_;
        }
    }
    return "no trust rule";
}

void Trust::record(const std::string& host, std::uint16_t port, const std::string& fingerprint) const {
    if (mode_ != Mode::known_hosts) return;
    KnownHostsFile file(value_);
    file.add(host, port, fingerprint);
}

// ---- Setup ----------------------------------------------------------------------------------

struct Client::Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = 0;
};

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      handshake_(ClientHandshake::Credentials{options_.password, options_.name, options_.plaintext,
                                              options_.clock_skew_ms}),
      decoder_(options_.max_payload) {}

Client::~Client() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Client> Client::start(ClientOptions options) {
    std::unique_ptr<Client> client(new Client(std::move(options)));
    client->begin_connect();
    return client;
}

std::unique_ptr<Client> Client::connect(ClientOptions options) {
    std::unique_ptr<Client> client = start(std::move(options));
    while (!client->is_accepted()) {
        if (client->failure_) throw *client->failure_;
        if (client->closed_) throw Error(client->closed_->error, client->closed_->message, client->closed_->reason);
        client->run_once(client->poll_timeout_ms());
    }
    // The `Accepted` event stays queued for a caller that reads events; drop it for the blocking one.
    if (!client->events_.empty() && std::holds_alternative<Accepted>(client->events_.front())) client->events_.pop_front();
    return client;
}

std::uint64_t Client::now_ms() const {
    if (options_.clock) return options_.clock();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void Client::begin_connect() {
    auto now = Clock::now();
    connect_deadline_ = now + options_.connect_timeout;
    handshake_deadline_ = now + options_.connect_timeout + options_.handshake_timeout;  // set again once connected
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* results = nullptr;
    std::string host = options_.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int status = getaddrinfo(host.c_str(), std::to_string(options_.port).c_str(), &hints, &results);
    if (status != 0) {
        end_with(Error(Error::Kind::connection_failed, "cannot resolve " + options_.host + ": " + gai_strerror(status)));
        return;
    }
    for (addrinfo* p = results; p; p = p->ai_next) {
        auto address = std::make_unique<Address>();
        std::memcpy(&address->storage, p->ai_addr, p->ai_addrlen);
        address->length = static_cast<socklen_t>(p->ai_addrlen);
        address->family = p->ai_family;
        addresses_.push_back(std::move(address));
    }
    freeaddrinfo(results);
    try_next_address();
}

void Client::try_next_address() {
    while (next_address_ < addresses_.size()) {
        const Address& address = *addresses_[next_address_++];
        int fd = ::socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
        if (result == 0 || errno == EINPROGRESS) {
            fd_ = fd;
            connecting_ = result != 0;
            if (!connecting_) on_connected();
            return;
        }
        ::close(fd);
    }
    end_with(Error(Error::Kind::connection_failed,
                   "cannot connect to " + KnownHostsFile::endpoint(options_.host, options_.port)));
}

void Client::on_connected() {
    connecting_ = false;
    // The whole handshake, from the established connection to `accepted`, within this bound.
    handshake_deadline_ = Clock::now() + options_.handshake_timeout;
}

// ---- Non-blocking driving -------------------------------------------------------------------

short Client::poll_events() const {
    if (fd_ < 0) return 0;
    if (connecting_) return POLLOUT;
    return static_cast<short>(POLLIN | (output_offset_ < output_.size() ? POLLOUT : 0));
}

int Client::poll_timeout_ms() const {
    if (fd_ < 0 || acceptance_) return -1;
    auto deadline = connecting_ ? connect_deadline_ : handshake_deadline_;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left + 1);
}

void Client::check_deadlines() {
    if (fd_ < 0 || acceptance_) return;
    auto now = Clock::now();
    if (connecting_ && now >= connect_deadline_) {
        end_with(Error(Error::Kind::timed_out, "connecting to " + KnownHostsFile::endpoint(options_.host, options_.port) +
                                                   " timed out"));
    } else if (now >= handshake_deadline_) {
        end_with(Error(Error::Kind::timed_out, std::string("the handshake timed out at step ") + handshake_.step()));
    }
}

void Client::handle(short revents) {
    if (fd_ < 0) return;
    if (connecting_) {
        if (revents & (POLLOUT | POLLERR | POLLHUP)) {
            int error = 0;
            socklen_t length = sizeof error;
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0) {
                ::close(fd_);
                fd_ = -1;
                try_next_address();
                return;
            }
            on_connected();
        } else {
            check_deadlines();
            return;
        }
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) read_available();
    if (fd_ >= 0 && output_offset_ < output_.size()) write_available();
    check_deadlines();
}

void Client::read_available() {
    std::uint8_t buffer[65536];
    while (fd_ >= 0) {
        ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) {
            try {
                decoder_.append(buffer, static_cast<std::size_t>(n));
                while (fd_ >= 0 && !closing_received_) {
                    auto payload = decoder_.next();
                    if (!payload) break;
                    on_frame(*payload);
                }
            } catch (const Error& error) {
                end_with(error);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        // The end of the stream, or a reset.
        std::string why = n == 0 ? "the server closed the connection" : std::string("the connection failed: ") + std::strerror(errno);
        if (!acceptance_) {
            end_with(Error(Error::Kind::connection_failed, std::string(why) + " during the handshake (step " +
                                                               handshake_.step() + ")"));
        } else {
            end(Closed{std::nullopt, Error::Kind::connection_failed, why + " without closing"});
        }
        return;
    }
}

void Client::write_available() {
    while (fd_ >= 0 && output_offset_ < output_.size()) {
        ssize_t n = ::send(fd_, output_.data() + output_offset_, output_.size() - output_offset_, MSG_NOSIGNAL);
        if (n > 0) {
            output_offset_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        end(Closed{std::nullopt, Error::Kind::connection_failed, std::string("sending failed: ") + std::strerror(errno)});
        return;
    }
    if (output_offset_ == output_.size()) {
        output_.clear();
        output_offset_ = 0;
    }
}

std::optional<SessionEvent> Client::next_event() {
    if (events_.empty()) return std::nullopt;
    SessionEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
}

// ---- Frames ---------------------------------------------------------------------------------

void Client::on_frame(const Bytes& payload) {
    if (!acceptance_) {
        on_handshake_frame(payload);
        return;
    }
    Bytes message;
    if (opener_) {
        auto opened = opener_->open(payload);
        if (!opened) throw Error(Error::Kind::decryption_failed, "a frame from the server did not authenticate");
        message = std::move(*opened);
    } else {
        message = payload;
    }
    on_session_message(decode_server_message(message));
}

void Client::on_handshake_frame(const Bytes& payload) {
    if (handshake_.state() == ClientHandshake::State::awaiting_hello) {
        perform(handshake_.receive_hello(payload, now_ms()));
        return;
    }
    Bytes message = payload;
    if (opener_) {
        auto opened = opener_->open(payload);
        if (!opened) handshake_.receive_unopenable(payload);
        message = std::move(*opened);
    }
    perform(handshake_.receive(decode_server_message(message)));
}

void Client::perform(std::vector<ClientHandshake::Action> actions) {
    for (auto& action : actions) {
        if (auto* check = std::get_if<ClientHandshake::CheckTrust>(&action)) {
            fingerprint_ = check->fingerprint;
            std::optional<std::string> mismatch;
            try {
                mismatch = options_.trust.decide(options_.host, options_.port, check->fingerprint, record_host_);
            } catch (const Error& error) {
                mismatch = error.what();
            }
            // Nothing is sent before this decision; on a mismatch nothing is sent at all.
            perform(handshake_.trust_decided(mismatch, crypto::random_secret()));
        } else if (auto* plaintext = std::get_if<ClientHandshake::SendPlaintext>(&action)) {
            queue_plaintext(plaintext->payload);
        } else if (auto* install = std::get_if<ClientHandshake::InstallKeys>(&action)) {
            sealer_.emplace(install->keys.c2s_key, install->keys.c2s_iv);
            opener_.emplace(install->keys.s2c_key, install->keys.s2c_iv);
        } else if (auto* send = std::get_if<ClientHandshake::Send>(&action)) {
            queue_message(send->message);
        } else if (auto* accepted = std::get_if<Accepted>(&action)) {
            acceptance_ = *accepted;
            if (record_host_) options_.trust.record(options_.host, options_.port, fingerprint_);
            events_.push_back(*accepted);
        } else if (auto* rejected = std::get_if<NameRejected>(&action)) {
            std::optional<std::string> next;
            if (options_.retry_name) next = options_.retry_name(*rejected);
            if (!next) handshake_.give_up_name();
            perform(handshake_.retry_name(*next));
        }
    }
}

void Client::on_session_message(const ServerMessage& message) {
    std::visit(
        [this](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Ping>) {
                queue_message(client_message::pong(m.value));
            } else if constexpr (std::is_same_v<T, ServerKeyUpdate>) {
                if (!opener_) throw Error(Error::Kind::protocol_violation, "a keyUpdate in a plaintext session");
                opener_->update(m.secret);
                ++updates_received_;
                events_.push_back(KeyUpdated{true, m.request_update});
                if (m.request_update) {
                    queue_message(client_message::key_update(crypto::random_secret(), false));
                }
            } else if constexpr (std::is_same_v<T, Closing>) {
                closing_received_ = true;
                end(Closed{m.reason, Error::Kind::closed_by_server,
                           "the server closed the session (" + close_code_name(m.reason.code) + "): " + m.reason.message});
            } else if constexpr (std::is_same_v<T, Response> || std::is_same_v<T, ServiceEvent> ||
                                 std::is_same_v<T, ServerName> || std::is_same_v<T, Pong> ||
                                 std::is_same_v<T, ServerStopping>) {
                events_.push_back(m);
            } else {
                throw Error(Error::Kind::protocol_violation, std::string("a ") + message_name(m) + " during the session");
            }
        },
        message);
}

void Client::queue_plaintext(const Bytes& payload) {
    Bytes frame = encode_frame(payload);
    output_.insert(output_.end(), frame.begin(), frame.end());
    if (fd_ >= 0 && !connecting_) write_available();
}

void Client::queue_message(const Bytes& message) {
    // What the server accepts: 4 KiB before `accepted`, the session's maximum (1 MiB by default)
    // after; a sealed frame carries a 16-byte tag.
    std::size_t limit = acceptance_ ? options_.max_payload : handshake_max_payload;
    if (message.size() + (sealer_ ? 16 : 0) > limit) {
        throw Error(Error::Kind::invalid_argument, "a message of " + std::to_string(message.size()) +
                                                       " bytes is over the frame limit of " + std::to_string(limit));
    }
    if (message.size() > 1 && message[0] == 0x97) {
        // A key update is sealed under the current key; the sender switches right after (§8).
        Secret secret{};
        std::copy(message.begin() + 1, message.begin() + 33, secret.begin());
        queue_plaintext(sealer_->seal(message));
        sealer_->update(secret);
        ++updates_sent_;
        events_.push_back(KeyUpdated{false, message[33] == 1});
        return;
    }
    queue_plaintext(sealer_ ? sealer_->seal(message) : message);
}

void Client::end(Closed closed) {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    connecting_ = false;
    if (!closed_) {
        closed_ = closed;
        events_.push_back(std::move(closed));
    }
}

void Client::end_with(const Error& error) {
    if (!acceptance_ && !failure_) failure_ = error;
    end(Closed{error.close_reason(), error.kind(), error.what()});
}

// ---- Sending --------------------------------------------------------------------------------

void Client::require_session() const {
    if (closed_) throw Error(closed_->error, "the session has ended: " + closed_->message, closed_->reason);
    if (!acceptance_) throw Error(Error::Kind::invalid_argument, "the server has not accepted the client yet");
    if (bye_sent_) throw Error(Error::Kind::invalid_argument, "the session is ending (bye was sent)");
}

std::uint64_t Client::send_request(const std::string& service, const Bytes& body) {
    require_session();
    std::uint64_t id = next_id_++;
    queue_message(client_message::request(id, service, body));
    return id;
}

std::uint64_t Client::send_rename(const std::string& name) {
    require_session();
    std::uint64_t id = next_id_++;
    queue_message(client_message::rename(id, name));
    return id;
}

void Client::send_ping(std::uint64_t value) {
    require_session();
    queue_message(client_message::ping(value));
}

void Client::send_server_name_query() {
    require_session();
    queue_message(client_message::server_name_query());
}

void Client::update_keys(bool request_update) {
    require_session();
    if (!sealer_) throw Error(Error::Kind::invalid_argument, "a plaintext session has no keys to update");
    queue_message(client_message::key_update(crypto::random_secret(), request_update));
}

void Client::send_bye() {
    require_session();
    queue_message(client_message::bye());
    bye_sent_ = true;
}

// ---- Blocking -------------------------------------------------------------------------------

void Client::run_once(int timeout_ms) {
    if (fd_ < 0) return;
    pollfd p{fd_, poll_events(), 0};
    int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno != EINTR) {
        end(Closed{std::nullopt, Error::Kind::connection_failed, std::string("poll failed: ") + std::strerror(errno)});
        return;
    }
    handle(n > 0 ? p.revents : 0);
}

std::optional<SessionEvent> Client::wait_event(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (events_.empty() && fd_ >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break;
        run_once(static_cast<int>(left));
    }
    return next_event();
}

void Client::flush(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (fd_ >= 0 && output_offset_ < output_.size()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) throw Error(Error::Kind::timed_out, "the server did not take our frames in time");
        run_once(static_cast<int>(left));
    }
}

Response Client::wait_response(std::uint64_t id, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
        for (auto it = events_.begin(); it != events_.end(); ++it) {
            if (auto* response = std::get_if<Response>(&*it); response && response->request_id == id) {
                Response found = std::move(*response);
                events_.erase(it);
                return found;
            }
        }
        if (closed_) throw Error(closed_->error, "the session ended before the response: " + closed_->message, closed_->reason);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) throw Error(Error::Kind::timed_out, "no response to request " + std::to_string(id) + " in time");
        run_once(static_cast<int>(left));
    }
}

Response Client::request(const std::string& service, const Bytes& body, std::chrono::milliseconds timeout) {
    return wait_response(send_request(service, body), timeout);
}

std::string Client::echo(const std::string& text, std::chrono::milliseconds timeout) {
    Response response = request("echo", Bytes(text.begin(), text.end()), timeout);
    if (response.status != status::ok) {
        throw Error(Error::Kind::protocol_violation, "echo failed with status " + std::to_string(response.status) + ": " +
                                                        response.error_message);
    }
    return std::string(response.body.begin(), response.body.end());
}

Response Client::rename(const std::string& name, std::chrono::milliseconds timeout) {
    return wait_response(send_rename(name), timeout);
}

std::optional<CloseReason> Client::close() {
    if (closed_) return closed_->reason;
    if (!acceptance_) {  // nothing to say goodbye to yet: just close
        end(Closed{std::nullopt, Error::Kind::closed, "closed by the client during the handshake"});
        return std::nullopt;
    }
    if (!bye_sent_) send_bye();
    auto deadline = Clock::now() + options_.bye_timeout;
    while (fd_ >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            end(Closed{std::nullopt, Error::Kind::timed_out, "no closing from the server after bye"});
            break;
        }
        run_once(static_cast<int>(left));
    }
    return closed_ ? closed_->reason : std::nullopt;
}

const Accepted& Client::acceptance() const {
    if (!acceptance_) throw Error(Error::Kind::invalid_argument, "the server has not accepted the client yet");
    return *acceptance_;
}

}  // namespace laboratory
