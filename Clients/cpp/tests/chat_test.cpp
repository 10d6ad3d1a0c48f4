// Chat bodies, replies and events (PROTOCOL.md §17), the strict JSON reader, and the history a
// client keeps to resume rooms.
#include <gtest/gtest.h>

#include <sstream>

#include "laboratory/chat.hpp"
#include "laboratory/json.hpp"
#include "support/paths.hpp"

using namespace laboratory;

namespace {
std::string text(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::vector<std::string> jsonl_block(const std::string& info) {
    std::string doc = test::read_text(test::repo_root() + "/Docs/PROTOCOL.md");
    std::size_t start = doc.find("```" + info + "\n");
    if (start == std::string::npos) throw std::runtime_error("no block " + info);
    start += info.size() + 4;
    std::size_t end = doc.find("```", start);
    std::vector<std::string> lines;
    std::istringstream stream(doc.substr(start, end - start));
    std::string line;
    while (std::getline(stream, line)) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

chat::Event message(const std::string& room, std::uint64_t sequence) {
    chat::Event e;
    e.kind = "message";
    e.room = room;
    e.sequence = sequence;
    return e;
}
}  // namespace

TEST(Chat, RequestBodiesMatchTheDocumentedExamples) {
    auto requests = jsonl_block("jsonl chat-requests");
    ASSERT_EQ(requests.size(), 7u);
    EXPECT_EQ(text(chat::join_body("lobby")), requests[0]);
    EXPECT_EQ(text(chat::join_body("lobby", 40)), requests[1]);
    EXPECT_EQ(text(chat::say_body("lobby", "hello")), requests[2]);
    EXPECT_EQ(text(chat::rooms_body(std::nullopt, 2)), requests[3]);
    EXPECT_EQ(text(chat::who_body("lobby")), requests[4]);
    EXPECT_EQ(text(chat::leave_body("lobby")), requests[5]);
    EXPECT_EQ(text(chat::direct_body(2, "psst")), requests[6]);
    // Text with quotes, controls and non-ASCII stays one valid JSON string.
    std::string odd = "a\"b\\c\n\x01 é";
    Json parsed = Json::parse(text(chat::say_body("r", odd)));
    EXPECT_EQ(parsed.string_at("text"), odd);
}

TEST(Chat, DocumentedRepliesAndEventsParse) {
    auto replies = jsonl_block("jsonl chat-replies");
    ASSERT_EQ(replies.size(), 7u);
    chat::Reply join = chat::Reply::parse(Bytes(replies[0].begin(), replies[0].end()));
    ASSERT_EQ(join.members.size(), 2u);
    EXPECT_EQ(join.members[1].name, "Bob");
    EXPECT_EQ(join.sequence, 2u);
    chat::Reply resumed = chat::Reply::parse(Bytes(replies[1].begin(), replies[1].end()));
    EXPECT_EQ(resumed.replayed, 100u);
    EXPECT_EQ(resumed.missed_from, 41u);
    EXPECT_EQ(resumed.missed_to, 59u);
    chat::Reply rooms = chat::Reply::parse(Bytes(replies[3].begin(), replies[3].end()));
    ASSERT_EQ(rooms.rooms.size(), 2u);
    EXPECT_EQ(rooms.next, "swift");
    auto events = jsonl_block("jsonl chat-events");
    ASSERT_EQ(events.size(), 5u);
    std::vector<std::string> kinds;
    for (const auto& line : events) {
        auto event = chat::Event::parse(ServiceEvent{"chat", Bytes(line.begin(), line.end())});
        ASSERT_TRUE(event);
        kinds.push_back(event->kind);
    }
    EXPECT_EQ(kinds, (std::vector<std::string>{"joined", "message", "renamed", "left", "direct"}));
    auto renamed = chat::Event::parse(ServiceEvent{"chat", Bytes(events[2].begin(), events[2].end())});
    EXPECT_EQ(renamed->old_name, "Ada");
    EXPECT_EQ(renamed->time, 1767225602000);
    EXPECT_FALSE(chat::Event::parse(ServiceEvent{"other", {}}));
}

TEST(Chat, StrictJsonRefusesWhatTheServerNeverSends) {
    for (const char* bad : {"{\"a\":1.0}", "{\"a\":1e0}", "{\"a\":-0}", "{\"a\":01}", "{\"a\":1,\"a\":2}",
                            "{\"r\":\"a\",\"r\\u006f\":1,\"ro\":2}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
                            "{\"a\":1,}", "{'a':1}", "{\"a\":NaN}", "{} x", "{\"a\":\"\x01\"}"}) {
        EXPECT_THROW(Json::parse(bad), Error) << bad;
    }
    std::string deep(33, '[');
    deep += std::string(33, ']');
    EXPECT_THROW(Json::parse(deep), Error);
    std::string ok_deep(32, '[');
    ok_deep += std::string(32, ']');
    EXPECT_NO_THROW(Json::parse(ok_deep));
    Json big = Json::parse("{\"n\":18446744073709551615,\"m\":18446744073709551616,\"s\":\"\\ud83d\\ude00\"}");
    EXPECT_EQ(big.u64_at("n"), UINT64_MAX);
    EXPECT_EQ(big.u64_at("m"), std::nullopt);
    EXPECT_EQ(big.string_at("s"), "\xF0\x9F\x98\x80");
}

TEST(Chat, StrictJsonRefusesIntegersBeyondADoublesRange) {
    // 2^1024 - 2^970: the first integer that rounds to infinity as a double.
    const std::string threshold =
        "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797758720"
        "70963302864166928879109465555478519404026306574886715058206819089020007083836762738548458177115317"
        "64475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880"
        "177904174497792";
    ASSERT_EQ(threshold.size(), 309u);
    const std::string below = threshold.substr(0, 308) + "1";
    const std::vector<std::pair<std::string, bool>> cases = {
        {std::string(308, '9'), true}, {below, true}, {"-" + below, true},
        {threshold, false}, {"-" + threshold, false}, {std::string(309, '9'), false},
        {std::string(310, '5'), false}, {"-" + std::string(10000, '1'), false},
    };
    for (const auto& [digits, accepted] : cases) {
        for (const std::string& body : {"{\"a\":" + digits + "}", "{\"op\":\"rooms\",\"x\":[1,{\"y\":" + digits + "}]}"}) {
            std::string label = std::to_string(digits.size()) + " characters in " + body.substr(0, 8);
            if (accepted) {
                EXPECT_NO_THROW(Json::parse(body)) << label;
                continue;
            }
            std::size_t offset = body.size() - digits.size() - (body.substr(body.size() - 3) == "}]}" ? 3 : 1);
            try {
                Json::parse(body);
                ADD_FAILURE() << label << ": accepted";
            } catch (const Error& error) {
                EXPECT_EQ(error.kind(), Error::Kind::protocol_violation) << label;
                EXPECT_EQ(std::string(error.what()),
                          "invalid JSON at byte " + std::to_string(offset) + ": integer beyond a double's range")
                    << label;
            }
        }
    }
}

TEST(Chat, HistoryDropsDuplicatesPerRoomAndRemembersTheLastSequence) {
    chat::History history;
    EXPECT_TRUE(history.accept(message("a", 1)));
    EXPECT_TRUE(history.accept(message("a", 2)));
    EXPECT_FALSE(history.accept(message("a", 2)));  // a duplicate
    EXPECT_FALSE(history.accept(message("a", 1)));  // an old one
    EXPECT_TRUE(history.accept(message("b", 1)));   // rooms are independent
    EXPECT_EQ(history.last("a"), 2u);
    chat::Event direct;
    direct.kind = "direct";
    EXPECT_TRUE(history.accept(direct));
    EXPECT_TRUE(history.accept(direct));  // direct messages have no sequence: never duplicates
    chat::Reply reply;
    reply.sequence = 9;
    history.joined("a", reply);
    EXPECT_EQ(history.last("a"), 9u);
    reply.sequence = 4;
    history.joined("a", reply);  // never goes back by itself
    EXPECT_EQ(history.last("a"), 9u);
    history.forget("a");
    EXPECT_EQ(history.last("a"), std::nullopt);
}

TEST(Chat, DisplayableNeutralizesControlsAndBidiOverrides) {
    EXPECT_EQ(chat::displayable("plain é text"), "plain é text");
    EXPECT_EQ(chat::displayable("a\x1b[2Jb"), "a\xEF\xBF\xBD[2Jb");          // an escape sequence
    EXPECT_EQ(chat::displayable("x\xE2\x80\xAEy"), "x\xEF\xBF\xBDy");        // U+202E
    EXPECT_EQ(chat::displayable("\xC2\x9B" "c"), "\xEF\xBF\xBD" "c");         // C1 CSI
    EXPECT_EQ(chat::displayable("line\nbreak"), "line\xEF\xBF\xBD" "break");
    EXPECT_EQ(chat::displayable("\xFF"), "\xEF\xBF\xBD");
}
