#include "laboratory/chat.hpp"

namespace laboratory::chat {

namespace {
Bytes body(const JsonObjectWriter& writer) {
    std::string text = writer.str();
    return Bytes(text.begin(), text.end());
}

[[noreturn]] void malformed(const std::string& what) {
    throw Error(Error::Kind::protocol_violation, "a malformed chat " + what);
}
}  // namespace

Bytes join_body(const std::string& room, std::optional<std::uint64_t> after) {
    JsonObjectWriter w;
    w.field("op", "join").field("room", room);
    if (after) w.field("after", *after);
    return body(w);
}

Bytes leave_body(const std::string& room) { return body(JsonObjectWriter().field("op", "leave").field("room", room)); }

Bytes rooms_body(const std::optional<std::string>& after, std::optional<std::uint64_t> limit) {
    JsonObjectWriter w;
    w.field("op", "rooms");
    if (after) w.field("after", *after);
    if (limit) w.field("limit", *limit);
    return body(w);
}

Bytes who_body(const std::string& room, const std::optional<std::string>& after, std::optional<std::uint64_t> limit) {
    JsonObjectWriter w;
    w.field("op", "who").field("room", room);
    if (after) w.field("after", *after);
    if (limit) w.field("limit", *limit);
    return body(w);
}

Bytes say_body(const std::string& room, const std::string& text) {
    return body(JsonObjectWriter().field("op", "say").field("room", room).field("text", text));
}

Bytes direct_body(std::uint64_t to, const std::string& text) {
    return body(JsonObjectWriter().field("op", "direct").field("to", to).field("text", text));
}

Reply Reply::parse(const Bytes& data) {
    Json json = Json::parse(std::string(data.begin(), data.end()));
    if (!json.is_object()) malformed("reply");
    Reply reply;
    if (const Json* members = json.find("members")) {
        for (const Json& item : members->items()) {
            auto id = item.u64_at("id");
            auto name = item.string_at("name");
            if (!id || !name) malformed("member");
            reply.members.push_back(Member{*id, *name});
        }
    }
    if (const Json* rooms = json.find("rooms")) {
        for (const Json& item : rooms->items()) {
            auto name = item.string_at("name");
            auto count = item.u64_at("members");
            if (!name || !count) malformed("room");
            reply.rooms.push_back(RoomInfo{*name, *count});
        }
    }
    reply.next = json.string_at("next");
    reply.sequence = json.u64_at("sequence");
    reply.replayed = json.u64_at("replayed");
    reply.missed_from = json.u64_at("missedFrom");
    reply.missed_to = json.u64_at("missedTo");
    if (reply.missed_from.has_value() != reply.missed_to.has_value()) malformed("reply (missedFrom without missedTo)");
    return reply;
}

std::optional<Event> Event::parse(const ServiceEvent& service_event) {
    if (service_event.service != "chat") return std::nullopt;
    Json json = Json::parse(std::string(service_event.body.begin(), service_event.body.end()));
    Event event;
    auto kind = json.string_at("kind");
    auto from = json.u64_at("from");
    auto name = json.string_at("name");
    if (!json.is_object() || !kind || !from || !name) malformed("event");
    event.kind = *kind;
    event.from = *from;
    event.name = *name;
    event.room = json.string_at("room");
    event.sequence = json.u64_at("sequence");
    event.old_name = json.string_at("oldName");
    event.text = json.string_at("text");
    event.time = json.i64_at("time").value_or(0);
    if (event.kind != "direct" && (!event.room || !event.sequence)) malformed("event (no room or sequence)");
    return event;
}

std::optional<std::uint64_t> History::last(const std::string& room) const {
    auto found = last_.find(room);
    if (found == last_.end()) return std::nullopt;
    return found->second;
}

bool History::accept(const Event& event) {
    if (!event.room || !event.sequence) return true;
    auto found = last_.find(*event.room);
    if (found != last_.end() && *event.sequence <= found->second) return false;
    last_[*event.room] = *event.sequence;
    return true;
}

void History::joined(const std::string& room, const Reply& reply) {
    if (!reply.sequence) return;
    auto found = last_.find(room);
    if (found == last_.end() || found->second < *reply.sequence) last_[room] = *reply.sequence;
}

Reply ChatSession::call(const Bytes& request) {
    std::uint64_t id = client_.send_request("chat", request);
    Response response = client_.wait_response(id);
    if (response.status != status::ok) {
        std::optional<std::uint32_t> retry;
        if (response.status == status::rejected && response.body.size() == 4) {
            ByteReader r(response.body);
            retry = r.u32();
        }
        throw ChatError(response.status, response.error_message, retry);
    }
    return Reply::parse(response.body);
}

void ChatSession::absorb(const SessionEvent& session_event) {
    if (auto* service_event = std::get_if<ServiceEvent>(&session_event)) {
        if (auto event = Event::parse(*service_event)) {
            if (history_.accept(*event)) {
                pending_.push_back(std::move(*event));
            } else {
                ++duplicates_;
            }
            return;
        }
    }
    other_.push_back(session_event);
}

Reply ChatSession::join(const std::string& room) {
    std::optional<std::uint64_t> after = history_.last(room);
    std::uint64_t id = client_.send_request("chat", join_body(room, after));
    // Replayed events and our own `joined` precede the reply. Hold this room's events until the
    // reply says whether the numbering restarted (then none of them is a duplicate).
    std::vector<Event> held;
    while (true) {
        auto event = client_.wait_event(std::chrono::seconds(10));
        if (!event) throw Error(Error::Kind::timed_out, "no reply to join " + room);
        if (auto* response = std::get_if<Response>(&*event); response && response->request_id == id) {
            if (response->status != status::ok) {
                std::optional<std::uint32_t> retry;
                if (response->status == status::rejected && response->body.size() == 4) {
                    ByteReader r(response->body);
                    retry = r.u32();
                }
                throw ChatError(response->status, response->error_message, retry);
            }
            Reply reply = Reply::parse(response->body);
            if (after && reply.sequence && *reply.sequence <= *after) history_.forget(room);
            for (Event& e : held) {
                if (history_.accept(e)) {
                    pending_.push_back(std::move(e));
                } else {
                    ++duplicates_;
                }
            }
            history_.joined(room, reply);
            if (reply.missed_from && reply.missed_to) missed_.push_back(Missed{room, *reply.missed_from, *reply.missed_to});
            return reply;
        }
        if (auto* closed = std::get_if<Closed>(&*event)) throw Error(closed->error, closed->message, closed->reason);
        if (auto* service_event = std::get_if<ServiceEvent>(&*event)) {
            auto chat_event = Event::parse(*service_event);
            if (chat_event && chat_event->room == room) {
                held.push_back(std::move(*chat_event));
                continue;
            }
        }
        absorb(*event);
    }
}

void ChatSession::leave(const std::string& room) {
    call(leave_body(room));
    history_.forget(room);
}

std::uint64_t ChatSession::say(const std::string& room, const std::string& text) {
    Reply reply = call(say_body(room, text));
    if (!reply.sequence) malformed("say reply (no sequence)");
    return *reply.sequence;
}

void ChatSession::direct(std::uint64_t to, const std::string& text) { call(direct_body(to, text)); }

Reply ChatSession::who(const std::string& room, const std::optional<std::string>& after) { return call(who_body(room, after)); }

Reply ChatSession::rooms(const std::optional<std::string>& after) { return call(rooms_body(after)); }

void ChatSession::rename(const std::string& name) {
    Response response = client_.rename(name);
    if (response.status != status::ok) throw ChatError(response.status, response.error_message, std::nullopt);
}

std::optional<Event> ChatSession::poll(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pending_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto event = client_.wait_event(left);
        if (!event) return std::nullopt;
        absorb(*event);
        if (std::holds_alternative<Closed>(*event)) break;
    }
    if (pending_.empty()) return std::nullopt;
    Event event = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return event;
}

std::vector<Missed> ChatSession::take_missed() {
    std::vector<Missed> missed;
    missed.swap(missed_);
    return missed;
}

}  // namespace laboratory::chat

namespace laboratory::chat {

std::string displayable(const std::string& text) {
    static const std::string replacement = "\xEF\xBF\xBD";
    if (!is_valid_utf8(text)) return replacement;
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t length = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        std::uint32_t code = length == 1 ? c : length == 2 ? (c & 0x1Fu) : length == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
        bool harmful = code < 0x20 || code == 0x7F || (code >= 0x80 && code <= 0x9F) || code == 0x061C ||
                       code == 0x200E || code == 0x200F || (code >= 0x202A && code <= 0x202E) ||
                       (code >= 0x2066 && code <= 0x2069);
        out += harmful ? replacement : text.substr(i, length);
        i += length;
    }
    return out;
}

}  // namespace laboratory::chat
