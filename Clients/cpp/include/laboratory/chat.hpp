// The chat service (PROTOCOL.md §17): request bodies, replies and events, and the history a
// client keeps to resume rooms after reconnecting (`join` with `after`).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "laboratory/client.hpp"
#include "laboratory/json.hpp"

namespace laboratory::chat {

/// Request bodies (one JSON object each, conforming to the strict rules of §17).
Bytes join_body(const std::string& room, std::optional<std::uint64_t> after = std::nullopt);
Bytes leave_body(const std::string& room);
Bytes rooms_body(const std::optional<std::string>& after = std::nullopt, std::optional<std::uint64_t> limit = std::nullopt);
Bytes who_body(const std::string& room, const std::optional<std::string>& after = std::nullopt,
               std::optional<std::uint64_t> limit = std::nullopt);
Bytes say_body(const std::string& room, const std::string& text);
Bytes direct_body(std::uint64_t to, const std::string& text);

struct Member {
    std::uint64_t id = 0;
    std::string name;
};

struct RoomInfo {
    std::string name;
    std::uint64_t members = 0;
};

/// A reply (status 0); fields that do not apply are empty.
struct Reply {
    std::vector<Member> members;
    std::vector<RoomInfo> rooms;
    std::optional<std::string> next;
    std::optional<std::uint64_t> sequence, replayed, missed_from, missed_to;
    static Reply parse(const Bytes& body);  // throws Error (protocol_violation)
};

/// A chat event: `message`, `joined`, `left`, `renamed` or `direct`.
struct Event {
    std::string kind;
    std::optional<std::string> room;
    std::optional<std::uint64_t> sequence;
    std::uint64_t from = 0;
    std::string name;
    std::optional<std::string> old_name, text;
    std::int64_t time = 0;
    /// `std::nullopt` for an event of another service; throws for a malformed chat event.
    static std::optional<Event> parse(const ServiceEvent& event);
};

/// The chat request failed (status other than 0): `status` and the server's message.
class ChatError : public Error {
public:
    ChatError(std::uint16_t status, const std::string& message, std::optional<std::uint32_t> retry_ms)
        : Error(Kind::invalid_argument, message), status_(status), retry_ms_(retry_ms) {}
    std::uint16_t status() const { return status_; }
    /// For status 4 over a rate limit: when to try again.
    std::optional<std::uint32_t> retry_ms() const { return retry_ms_; }

private:
    std::uint16_t status_;
    std::optional<std::uint32_t> retry_ms_;
};

/// What a client remembers per room to resume after reconnecting: the last sequence number it
/// has seen. Events at or below it are duplicates (a replay overlapping what was seen).
class History {
public:
    std::optional<std::uint64_t> last(const std::string& room) const;
    /// Whether the event is new; records its sequence. Direct messages are always new.
    bool accept(const Event& event);
    /// After a `join` reply: the room's latest sequence (our own `joined`) has been seen. (A reply
    /// `sequence` not greater than the `after` sent means the numbering restarted, a new server
    /// run: `ChatSession::join` then forgets the room first.)
    void joined(const std::string& room, const Reply& reply);
    /// Forgets a room (after `leave`).
    void forget(const std::string& room) { last_.erase(room); }

private:
    std::map<std::string, std::uint64_t> last_;
};

/// A gap the server could not replay: events `from` to `to` are lost to the client.
struct Missed {
    std::string room;
    std::uint64_t from = 0, to = 0;
};

/// Chat over a blocking `Client`: requests wait for their reply; events arrive through `poll`.
class ChatSession {
public:
    explicit ChatSession(Client& client, History history = {}) : client_(client), history_(std::move(history)) {}

    /// Joins, resuming after the last sequence remembered for the room (if any). Replayed events
    /// queue up for `poll`, duplicates dropped; a gap is reported through `missed()`.
    Reply join(const std::string& room);
    void leave(const std::string& room);
    /// Sends a message; returns its sequence number.
    std::uint64_t say(const std::string& room, const std::string& text);
    void direct(std::uint64_t to, const std::string& text);
    Reply who(const std::string& room, const std::optional<std::string>& after = std::nullopt);
    Reply rooms(const std::optional<std::string>& after = std::nullopt);
    /// Renames (status 4 with the rule broken throws `ChatError`).
    void rename(const std::string& name);

    /// The next new chat event (duplicates dropped), waiting at most `timeout`. Non-chat events
    /// are kept in `other_events()`.
    std::optional<Event> poll(std::chrono::milliseconds timeout);
    /// Gaps reported by `join` replies since the last call.
    std::vector<Missed> take_missed();
    /// Events duplicates were dropped for, so far.
    std::uint64_t duplicates_dropped() const { return duplicates_; }
    const History& history() const { return history_; }
    std::vector<SessionEvent>& other_events() { return other_; }

private:
    Reply call(const Bytes& body);
    void absorb(const SessionEvent& event);

    Client& client_;
    History history_;
    std::vector<Event> pending_;
    std::vector<SessionEvent> other_;
    std::vector<Missed> missed_;
    std::uint64_t duplicates_ = 0;
};

}  // namespace laboratory::chat

namespace laboratory::chat {

/// Text from the server made harmless for a terminal (PROTOCOL.md §16: chat text is not
/// filtered): control characters (C0, DEL, C1), bidirectional overrides and isolates, and
/// invalid UTF-8 become U+FFFD.
std::string displayable(const std::string& text);

}  // namespace laboratory::chat
