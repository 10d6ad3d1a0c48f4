// laboratory-cpp: a small command-line chat client over the C++ library, driven by one poll()
// loop over standard input and the connection (the library's non-blocking use).
//
//   laboratory-cpp [options] HOST:PORT            chat: lines are said in the current room
//   laboratory-cpp [options] --echo TEXT HOST:PORT  one echo, printed
//
// Options: --name NAME, --password-file FILE (else LABORATORY_PASSWORD), --fingerprint SHA256:...,
// --known-hosts FILE, --accept-new. Commands: /join ROOM, /leave ROOM, /who [ROOM], /rooms,
// /rename NAME, /msg ID TEXT, /rekey, /quit (or end of input). Exit status: 0 after a clean close,
// 64 usage, 69 connection failed or refused, 77 key not trusted or wrong password, 1 otherwise.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "laboratory/chat.hpp"
#include "laboratory/known_hosts.hpp"

using namespace laboratory;

namespace {

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "laboratory-cpp: %s\nusage: laboratory-cpp [--name NAME] [--password-file FILE] [--fingerprint SHA256:...]\n"
                 "                      [--known-hosts FILE] [--accept-new] [--echo TEXT] HOST:PORT\n",
                 problem.c_str());
    std::exit(64);
}

int exit_status(const Error& error) {
    switch (error.kind()) {
        case Error::Kind::untrusted_key:
        case Error::Kind::bad_certificate: return 77;
        case Error::Kind::closed_by_server:
            return error.close_reason() && error.close_reason()->code == close_code::wrong_password ? 77 : 69;
        case Error::Kind::connection_failed:
        case Error::Kind::timed_out: return 69;
        default: return 1;
    }
}

std::string describe(const Error& error) {
    std::string text = error.what();
    if (auto retry = error.retry_after_ms()) {
        text += " (locked out: try again in " + std::to_string((*retry + 999) / 1000) + " s)";
    }
    return chat::displayable(text);
}

/// What a pending chat request was, to print its reply.
struct Pending {
    std::string op, room;
};

class ChatLoop {
public:
    explicit ChatLoop(Client& client) : client_(client) {}

    int run() {
        bool input_open = true;
        while (!client_.is_closed()) {
            pollfd fds[2] = {{client_.fd(), client_.poll_events(), 0}, {0, static_cast<short>(input_open ? POLLIN : 0), 0}};
            if (::poll(fds, 2, -1) < 0) continue;
            client_.handle(fds[0].revents);
            while (auto event = client_.next_event()) show(*event);
            if (input_open && (fds[1].revents & (POLLIN | POLLHUP))) {
                std::string line;
                if (!read_line(line)) {
                    input_open = false;
                    if (!client_.is_closed()) client_.send_bye();
                } else if (!command(line)) {
                    input_open = false;
                    client_.send_bye();
                }
            }
        }
        while (auto event = client_.next_event()) show(*event);
        const auto& closed = client_.closed_reason();
        return closed && closed->reason && closed->reason->code == close_code::normal ? 0 : 1;
    }

private:
    static bool read_line(std::string& line) {
        line.clear();
        char c;
        while (true) {
            ssize_t n = ::read(0, &c, 1);
            if (n <= 0) return !line.empty();
            if (c == '\n') return true;
            line.push_back(c);
        }
    }

    void request(const std::string& op, const std::string& room, const Bytes& body) {
        pending_[client_.send_request("chat", body)] = Pending{op, room};
    }

    bool command(const std::string& line) {
        if (line.empty()) return true;
        if (line[0] != '/') {
            if (room_.empty()) {
                std::printf("! join a room first: /join ROOM\n");
            } else {
                request("say", room_, chat::say_body(room_, line));
            }
            return true;
        }
        std::istringstream words(line);
        std::string verb, argument;
        words >> verb;
        std::getline(words >> std::ws, argument);
        if (verb == "/quit") return false;
        if (verb == "/join" && !argument.empty()) {
            request("join", argument, chat::join_body(argument, history_.last(argument)));
        } else if (verb == "/leave" && !argument.empty()) {
            request("leave", argument, chat::leave_body(argument));
        } else if (verb == "/who") {
            std::string room = argument.empty() ? room_ : argument;
            request("who", room, chat::who_body(room));
        } else if (verb == "/rooms") {
            request("rooms", "", chat::rooms_body());
        } else if (verb == "/rename" && !argument.empty()) {
            pending_[client_.send_rename(argument)] = Pending{"rename", argument};
        } else if (verb == "/msg") {
            std::istringstream parts(argument);
            std::uint64_t to = 0;
            std::string text;
            if (parts >> to && std::getline(parts >> std::ws, text) && !text.empty()) {
                request("direct", "", chat::direct_body(to, text));
            } else {
                std::printf("! usage: /msg ID TEXT\n");
            }
        } else if (verb == "/rekey") {
            client_.update_keys(true);
        } else {
            std::printf("! commands: /join ROOM, /leave ROOM, /who [ROOM], /rooms, /rename NAME, /msg ID TEXT, /rekey, /quit\n");
        }
        return true;
    }

    void show(const SessionEvent& event) {
        if (auto* service_event = std::get_if<ServiceEvent>(&event)) {
            try {
                if (auto e = chat::Event::parse(*service_event)) {
                    if (!history_.accept(*e)) return;  // a duplicate of what was shown
                    std::string who = chat::displayable(e->name) + " (#" + std::to_string(e->from) + ")";
                    std::string room = chat::displayable(e->room.value_or(""));
                    if (e->kind == "message") std::printf("[%s] %s: %s\n", room.c_str(), who.c_str(), chat::displayable(e->text.value_or("")).c_str());
                    else if (e->kind == "joined") std::printf("* %s joined %s\n", who.c_str(), room.c_str());
                    else if (e->kind == "left") std::printf("* %s left %s\n", who.c_str(), room.c_str());
                    else if (e->kind == "renamed") std::printf("* %s (#%llu) renamed to %s in %s\n", chat::displayable(e->old_name.value_or("?")).c_str(), static_cast<unsigned long long>(e->from), chat::displayable(e->name).c_str(), room.c_str());
                    else if (e->kind == "direct") std::printf("[direct] %s: %s\n", who.c_str(), chat::displayable(e->text.value_or("")).c_str());
                }
            } catch (const Error& error) {
                std::printf("! a malformed chat event: %s\n", error.what());
            }
        } else if (auto* response = std::get_if<Response>(&event)) {
            reply(*response);
        } else if (auto* stopping = std::get_if<ServerStopping>(&event)) {
            std::printf("! the server is stopping; the session ends within %u ms\n", stopping->grace_ms);
        } else if (auto* updated = std::get_if<KeyUpdated>(&event)) {
            if (!updated->server_direction) std::printf("* keys updated\n");
        } else if (auto* closed = std::get_if<Closed>(&event)) {
            if (closed->reason && closed->reason->code == close_code::normal) {
                std::printf("bye\n");
            } else {
                std::printf("! %s\n", chat::displayable(closed->message).c_str());
            }
        }
        std::fflush(stdout);
    }

    void reply(const Response& response) {
        auto found = pending_.find(response.request_id);
        if (found == pending_.end()) return;
        Pending pending = found->second;
        pending_.erase(found);
        if (response.status != status::ok) {
            std::printf("! %s failed: %s\n", pending.op.c_str(), chat::displayable(response.error_message).c_str());
            return;
        }
        if (pending.op == "rename") {
            std::printf("you are now %s\n", chat::displayable(pending.room).c_str());
            return;
        }
        chat::Reply r = chat::Reply::parse(response.body);
        if (pending.op == "join") {
            room_ = pending.room;
            history_.joined(pending.room, r);
            std::string members;
            for (const auto& m : r.members) members += (members.empty() ? "" : ", ") + chat::displayable(m.name) + " (#" + std::to_string(m.id) + ")";
            std::printf("joined %s; members: %s\n", pending.room.c_str(), members.c_str());
            if (r.missed_from) {
                std::printf("! events %llu to %llu of %s are no longer kept\n", static_cast<unsigned long long>(*r.missed_from),
                            static_cast<unsigned long long>(*r.missed_to), pending.room.c_str());
            }
        } else if (pending.op == "leave") {
            if (room_ == pending.room) room_.clear();
            std::printf("left %s\n", pending.room.c_str());
        } else if (pending.op == "who") {
            for (const auto& m : r.members) std::printf("  %s (#%llu)\n", chat::displayable(m.name).c_str(), static_cast<unsigned long long>(m.id));
        } else if (pending.op == "rooms") {
            for (const auto& room : r.rooms) std::printf("  %s (%llu)\n", room.name.c_str(), static_cast<unsigned long long>(room.members));
        }
    }

    Client& client_;
    chat::History history_;
    std::map<std::uint64_t, Pending> pending_;
    std::string room_;
};

}  // namespace

int main(int argc, char** argv) {
    ClientOptions options;
    std::string password_file, fingerprint, known_hosts, echo_text, server;
    bool accept_new = false, echo = false;
    options.name = "cpp";
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--name") options.name = value();
        else if (arg == "--password-file") password_file = value();
        else if (arg == "--fingerprint") fingerprint = value();
        else if (arg == "--known-hosts") known_hosts = value();
        else if (arg == "--accept-new") accept_new = true;
        else if (arg == "--echo") echo = true, echo_text = value();
        else if (arg == "-h" || arg == "--help") usage("help");
        else if (server.empty() && arg[0] != '-') server = arg;
        else usage("unknown argument " + arg);
    }
    std::size_t colon = server.rfind(':');
    if (server.empty() || colon == std::string::npos) usage("give the server as HOST:PORT");
    options.host = server.substr(0, colon);
    options.port = static_cast<std::uint16_t>(std::atoi(server.c_str() + colon + 1));
    if (!password_file.empty()) {
        std::ifstream file(password_file);
        if (!file || !std::getline(file, options.password)) usage("cannot read " + password_file);
    } else if (const char* password = std::getenv("LABORATORY_PASSWORD")) {
        options.password = password;
    } else {
        usage("give --password-file or LABORATORY_PASSWORD");
    }
    try {
        options.trust = fingerprint.empty() ? Trust::known_hosts(known_hosts, accept_new) : Trust::pinned(fingerprint);
        if (isatty(0) && !echo) {
            options.retry_name = [](const NameRejected& rejected) -> std::optional<std::string> {
                std::printf("name rejected: %s; another name (%u tries left): ", chat::displayable(rejected.reason).c_str(),
                            rejected.attempts_left);
                std::fflush(stdout);
                std::string name;
                if (!std::getline(std::cin, name) || name.empty()) return std::nullopt;
                return name;
            };
        }
        auto client = Client::connect(options);
        if (echo) {
            std::printf("%s\n", chat::displayable(client->echo(echo_text)).c_str());
            auto reason = client->close();
            return reason && reason->code == close_code::normal ? 0 : 1;
        }
        std::printf("Connected to %s at %s as %s (#%llu). Server key %s\n",
                    chat::displayable(client->acceptance().server_name).c_str(), KnownHostsFile::endpoint(options.host, options.port).c_str(),
                    options.name.c_str(), static_cast<unsigned long long>(client->acceptance().connection_id),
                    client->fingerprint().c_str());
        std::fflush(stdout);
        return ChatLoop(*client).run();
    } catch (const Error& error) {
        std::fprintf(stderr, "laboratory-cpp: %s\n", describe(error).c_str());
        return exit_status(error);
    }
}
