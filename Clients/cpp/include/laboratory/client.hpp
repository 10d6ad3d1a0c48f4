// A connection to a Laboratory server: the socket code that drives `ClientHandshake` and the
// record layer. Use it blocking (`Client::connect`, `request`, `echo`, `close`) or non-blocking
// with your own poll loop (`Client::start`, `fd`, `poll_events`, `handle`, `next_event`).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "laboratory/bytes.hpp"
#include "laboratory/client_handshake.hpp"
#include "laboratory/error.hpp"
#include "laboratory/frame.hpp"
#include "laboratory/messages.hpp"
#include "laboratory/record_layer.hpp"

namespace laboratory {

/// How the client decides whether the server's identity key is the right one (PROTOCOL.md §4).
class Trust {
public:
    /// Only the key with this fingerprint (`SHA256:` and 43 characters). Throws `Error`
    /// (invalid_argument) for a pin of any other form: it is malformed, not a mismatch.
    static Trust pinned(const std::string& fingerprint);
    /// The key recorded in a known-hosts file. An unknown server is refused unless `accept_new`,
    /// which records its key once the server has accepted the client.
    static Trust known_hosts(std::string path, bool accept_new = false);
    /// A rule of the caller's: return `std::nullopt` to trust the fingerprint, else why not.
    static Trust custom(std::function<std::optional<std::string>(const std::string& fingerprint)> decide);

    /// Why the key is not trusted, or `std::nullopt`. Sets `record` when the key should be written
    /// to the known-hosts file after acceptance.
    std::optional<std::string> decide(const std::string& host, std::uint16_t port, const std::string& fingerprint,
                                      bool& record) const;
    /// Writes a first-seen key (known hosts with `accept_new`).
    void record(const std::string& host, std::uint16_t port, const std::string& fingerprint) const;

private:
    enum class Mode { pinned, known_hosts, custom } mode_ = Mode::pinned;
    std::string value_;
    bool accept_new_ = false;
    std::function<std::optional<std::string>(const std::string&)> decide_;
};

/// Everything a connection needs.
struct ClientOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 12800;
    std::string password;
    std::string name;
    Trust trust = Trust::known_hosts("");
    /// Asked after each `nameRejected` (0x17): another name, or `std::nullopt` to give up.
    std::function<std::optional<std::string>(const NameRejected&)> retry_name;
    /// Ask for an unencrypted session; only if the user asked for it explicitly.
    bool plaintext = false;
    std::uint32_t max_payload = default_max_payload;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds handshake_timeout{30'000};
    std::chrono::milliseconds bye_timeout{5'000};
    std::uint64_t clock_skew_ms = 600'000;
    /// Milliseconds since 1970 (UTC); the system clock unless replaced (tests).
    std::function<std::uint64_t()> clock;
};

/// One of our own key updates (`server_direction` false) or one of the server's (true).
struct KeyUpdated {
    bool server_direction = false;
    bool requested_reply = false;
};

/// The session has ended. `reason` is the server's `closing` if it sent one; `error` says what
/// happened in any case (closed_by_server, decryption_failed, protocol_violation, ...).
struct Closed {
    std::optional<CloseReason> reason;
    Error::Kind error = Error::Kind::closed;
    std::string message;
};

/// What the connection reports, in order.
using SessionEvent = std::variant<Accepted, Response, ServiceEvent, ServerName, Pong, ServerStopping, KeyUpdated, Closed>;

class Client {
public:
    /// Non-blocking: resolves the host, starts connecting and returns at once. Drive it with
    /// `poll_events`/`handle`; `Accepted` or `Closed` arrives through `next_event`.
    static std::unique_ptr<Client> start(ClientOptions options);
    /// Blocking: connects and runs the handshake until the server accepts; throws `Error`
    /// otherwise (the server's `closing`, with `retry_after_ms()` for a locked-out source).
    static std::unique_ptr<Client> connect(ClientOptions options);

    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // ---- Non-blocking use ----
    /// The socket, for poll/epoll/select. -1 once closed.
    int fd() const { return fd_; }
    /// POLLIN, plus POLLOUT while connecting or while output waits.
    short poll_events() const;
    /// Milliseconds until the next deadline (connect or handshake), or -1 for none.
    int poll_timeout_ms() const;
    /// Carries out I/O for the poll result (0 after a timeout: checks the deadlines). Failures do
    /// not throw: they end the session with a `Closed` event.
    void handle(short revents);
    /// The next event, if one is waiting.
    std::optional<SessionEvent> next_event();

    // ---- Sending (queued; written by `handle` or by the blocking calls) ----
    /// A request; returns its id.
    std::uint64_t send_request(const std::string& service, const Bytes& body);
    /// A rename; returns its request id (answered by a `Response`).
    std::uint64_t send_rename(const std::string& name);
    void send_ping(std::uint64_t value);
    void send_server_name_query();
    /// Replaces the client's sending key (§8); with `request_update` the server replaces its own.
    void update_keys(bool request_update = true);
    /// Sends `bye`; the server answers what is outstanding, then `closing` code 1.
    void send_bye();

    // ---- Blocking use ----
    /// Runs I/O until an event is waiting or the timeout passes.
    std::optional<SessionEvent> wait_event(std::chrono::milliseconds timeout);
    /// Sends a request and waits for its response; other events stay queued for `next_event`.
    /// Throws `Error` (timed_out, or closed with the reason).
    Response request(const std::string& service, const Bytes& body,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// The echo service: returns what it sent back.
    std::string echo(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Renames and waits for the answer (status 0, or 4 with the rule broken).
    Response rename(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Waits for the response to a request or rename sent earlier.
    Response wait_response(std::uint64_t id, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Writes everything queued.
    void flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Ends the session cleanly: `bye`, then reads until the server's `closing` and the end of
    /// the stream (at most `bye_timeout`). Returns the server's reason (code 1 normally).
    std::optional<CloseReason> close();

    // ---- State ----
    bool is_accepted() const { return acceptance_.has_value(); }
    bool is_closed() const { return fd_ < 0; }
    const Accepted& acceptance() const;
    /// The identity key's fingerprint, once the hello was checked.
    const std::string& fingerprint() const { return fingerprint_; }
    const std::optional<Closed>& closed_reason() const { return closed_; }
    std::uint64_t key_updates_sent() const { return updates_sent_; }
    std::uint64_t key_updates_received() const { return updates_received_; }

private:
    explicit Client(ClientOptions options);
    void begin_connect();
    void try_next_address();
    void on_connected();
    void read_available();
    void write_available();
    void on_frame(const Bytes& payload);
    void on_handshake_frame(const Bytes& payload);
    void on_session_message(const ServerMessage& message);
    void perform(std::vector<ClientHandshake::Action> actions);
    void queue_message(const Bytes& message);
    void queue_plaintext(const Bytes& payload);
    void end(Closed closed);
    void end_with(const Error& error);
    void check_deadlines();
    void run_once(int timeout_ms);
    void require_session() const;
    std::uint64_t now_ms() const;

    ClientOptions options_;
    int fd_ = -1;
    bool connecting_ = false;
    struct Address;
    std::vector<std::unique_ptr<Address>> addresses_;
    std::size_t next_address_ = 0;
    std::chrono::steady_clock::time_point connect_deadline_;
    std::chrono::steady_clock::time_point handshake_deadline_;

    ClientHandshake handshake_;
    FrameDecoder decoder_;
    std::optional<DirectionKeys> sealer_, opener_;
    Bytes output_;
    std::size_t output_offset_ = 0;
    std::deque<SessionEvent> events_;
    std::optional<Accepted> acceptance_;
    std::optional<Closed> closed_;
    std::optional<Error> failure_;
    std::string fingerprint_;
    bool record_host_ = false;
    bool closing_received_ = false;
    bool bye_sent_ = false;
    std::uint64_t next_id_ = 1;
    std::uint64_t updates_sent_ = 0, updates_received_ = 0;
};

}  // namespace laboratory
