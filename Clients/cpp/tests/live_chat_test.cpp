// Chat over a real server: two C++ clients (rooms, presence, rename, direct), resuming a room
// with `after` (replay, duplicates dropped, the gap reported), and a C++ client chatting with the
// Swift terminal client.
#include <gtest/gtest.h>

#include "laboratory/chat.hpp"
#include "support/live.hpp"
#include "support/paths.hpp"

using namespace laboratory;
using namespace std::chrono_literals;

namespace {
test::ServerProcess& server() {
    static test::ServerProcess shared;
    return shared;
}

/// The next chat event of `kind` (others are skipped); fails the test if none comes in time.
chat::Event next_of(chat::ChatSession& session, const std::string& kind, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto event = session.poll(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
        if (event && event->kind == kind) return *event;
    }
    ADD_FAILURE() << "no " << kind << " event in time";
    return {};
}

/// The next chat event of `kind` caused by `name` (others, such as our own, are skipped).
chat::Event next_from(chat::ChatSession& session, const std::string& kind, const std::string& name,
                      std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto event = session.poll(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
        if (event && event->kind == kind && event->name == name) return *event;
    }
    ADD_FAILURE() << "no " << kind << " event from " << name << " in time";
    return {};
}
}  // namespace

TEST(LiveChat, RoomsPresenceRenameAndDirectBetweenTwoClients) {
    auto ada = Client::connect(test::pinned_options(server(), "Ada"));
    auto bob = Client::connect(test::pinned_options(server(), "Bob"));
    chat::ChatSession a(*ada), b(*bob);
    chat::Reply joined = a.join("presence");
    EXPECT_EQ(next_of(a, "joined").from, ada->acceptance().connection_id);
    b.join("presence");
    chat::Event bob_joined = next_of(a, "joined");
    EXPECT_EQ(bob_joined.name, "Bob");
    EXPECT_EQ(bob_joined.sequence, *joined.sequence + 1);
    chat::Reply who = a.who("presence");
    ASSERT_EQ(who.members.size(), 2u);
    EXPECT_EQ(who.members[0].name, "Ada");
    EXPECT_EQ(who.members[1].name, "Bob");
    bool listed = false;
    for (const auto& room : a.rooms().rooms) listed = listed || (room.name == "presence" && room.members == 2);
    EXPECT_TRUE(listed);

    std::uint64_t sequence = a.say("presence", "hello Bob");
    next_of(b, "joined");  // Bob's own
    chat::Event heard = next_of(b, "message");
    EXPECT_EQ(heard.text, "hello Bob");
    EXPECT_EQ(heard.sequence, sequence);
    EXPECT_EQ(heard.from, ada->acceptance().connection_id);

    b.rename("Robert");
    chat::Event renamed = next_of(a, "renamed");
    EXPECT_EQ(renamed.old_name, "Bob");
    EXPECT_EQ(renamed.name, "Robert");
    try {
        b.rename("\xE2\x80\x8B" "zero width");  // U+200B, general category Cf
        ADD_FAILURE() << "a name with a format character was accepted";
    } catch (const chat::ChatError& error) {
        EXPECT_EQ(error.status(), status::rejected);
    }

    a.direct(bob->acceptance().connection_id, "psst");
    chat::Event direct = next_of(b, "direct");
    EXPECT_EQ(direct.text, "psst");
    EXPECT_FALSE(direct.sequence);

    b.leave("presence");
    chat::Event left = next_of(a, "left");
    EXPECT_EQ(left.name, "Robert");
    try {
        b.say("presence", "not a member any more");
        ADD_FAILURE() << "say after leave succeeded";
    } catch (const chat::ChatError& error) {
        EXPECT_EQ(error.status(), status::service_error);
        EXPECT_NE(std::string(error.what()).find("join it first"), std::string::npos) << error.what();
    }
    EXPECT_EQ(ada->close()->code, close_code::normal);
    EXPECT_EQ(bob->close()->code, close_code::normal);
}

TEST(LiveChat, ResumeWithAfterReplaysWhatWasMissedAndReportsTheGap) {
    const std::string room = "resume";
    auto writer = Client::connect(test::pinned_options(server(), "Writer"));
    chat::ChatSession w(*writer);
    w.join(room);
    chat::History remembered;
    {
        auto reader = Client::connect(test::pinned_options(server(), "Reader"));
        chat::ChatSession r(*reader);
        r.join(room);
        w.say(room, "one");
        w.say(room, "two");
        while (next_of(r, "message").text != std::optional<std::string>("two")) {
        }
        remembered = r.history();
        reader->close();
    }
    std::uint64_t last_seen = *remembered.last(room);
    // While the reader is away: a few messages, then resume.
    for (const char* text : {"three", "four", "five"}) w.say(room, text);
    {
        auto reader = Client::connect(test::pinned_options(server(), "Reader"));
        chat::ChatSession r(*reader, remembered);
        chat::Reply reply = r.join(room);
        // Replayed: the reader's own `left`, three messages; then its own `joined`.
        EXPECT_EQ(reply.replayed, 4u);
        EXPECT_FALSE(reply.missed_from);
        std::vector<std::string> texts;
        std::uint64_t previous = last_seen;
        while (auto event = r.poll(200ms)) {
            EXPECT_GT(*event->sequence, previous);  // in order, nothing at or below what was seen
            previous = *event->sequence;
            if (event->kind == "message") texts.push_back(*event->text);
        }
        EXPECT_EQ(texts, (std::vector<std::string>{"three", "four", "five"}));
        EXPECT_EQ(r.duplicates_dropped(), 0u);
        EXPECT_TRUE(r.take_missed().empty());
        remembered = r.history();
        reader->close();
    }
    // Away for longer than the room keeps (100 events): the gap is reported, not hidden.
    last_seen = *remembered.last(room);
    for (int i = 0; i < 110; ++i) w.say(room, "bulk " + std::to_string(i));
    auto reader = Client::connect(test::pinned_options(server(), "Reader"));
    chat::ChatSession r(*reader, remembered);
    chat::Reply reply = r.join(room);
    EXPECT_EQ(reply.replayed, 100u);
    auto missed = r.take_missed();
    ASSERT_EQ(missed.size(), 1u);
    EXPECT_EQ(missed[0].room, room);
    EXPECT_EQ(missed[0].from, last_seen + 1);
    // The held window is the 100 events before the reader's own `joined` (the reply's sequence).
    EXPECT_EQ(missed[0].to, *reply.sequence - 101);
    EXPECT_EQ(r.history().last(room), reply.sequence);
    reader->close();
    writer->close();
}

TEST(LiveChat, HistoryDropsEventsAlreadySeenWhenResumingFromAnOlderPoint) {
    // A client that resumes from the point it had *shown* (say, before a crash) while its history
    // also holds later events it had received: the replay overlaps, the overlap is dropped.
    const std::string room = "overlap";
    auto writer = Client::connect(test::pinned_options(server(), "Writer2"));
    chat::ChatSession w(*writer);
    w.join(room);
    std::uint64_t first = w.say(room, "a");
    w.say(room, "b");
    w.say(room, "c");
    auto reader = Client::connect(test::pinned_options(server(), "Reader2"));
    chat::History history;
    chat::Event seen;
    seen.kind = "message";
    seen.room = room;
    seen.sequence = first + 1;  // "b" was already seen
    history.accept(seen);
    chat::ChatSession r(*reader, history);
    r.join(room);  // after = first + 1: the server replays only "c" and later
    std::vector<std::string> texts;
    while (auto event = r.poll(200ms)) {
        if (event->kind == "message") texts.push_back(*event->text);
    }
    EXPECT_EQ(texts, (std::vector<std::string>{"c"}));
    reader->close();
    writer->close();
}

TEST(LiveChat, ChatsWithTheSwiftTerminalClient) {
    const std::string room = "interop";
    auto cpp = Client::connect(test::pinned_options(server(), "Cpp"));
    chat::ChatSession c(*cpp);
    c.join(room);
    std::string home = test::temporary_directory();
    test::Process swift({test::client_binary(), "connect", "127.0.0.1:" + std::to_string(server().port()), "--name",
                         "Swifty", "--password-file", server().password_file(), "--known-hosts", home + "/known_hosts",
                         "--fingerprint", server().fingerprint()},
                        {"XDG_CONFIG_HOME=" + home, "HOME=" + home}, true);
    swift.write("/join " + room + "\n");
    chat::Event joined = next_from(c, "joined", "Swifty", 30s);
    swift.wait_for_line("joined " + room);
    c.say(room, "hello from C++");
    EXPECT_NO_THROW(swift.wait_for_line("Cpp: hello from C++"));
    swift.write("hello from Swift\n");
    chat::Event heard = next_from(c, "message", "Swifty");
    EXPECT_EQ(heard.text, "hello from Swift");
    EXPECT_EQ(heard.from, joined.from);
    swift.write("/rename Swiftier\n");
    chat::Event renamed = next_from(c, "renamed", "Swiftier");
    EXPECT_EQ(renamed.old_name, "Swifty");
    c.direct(joined.from, "a direct word");
    EXPECT_NO_THROW(swift.wait_for_line("[direct] Cpp (#" + std::to_string(cpp->acceptance().connection_id) +
                                        "): a direct word"));
    swift.close_stdin();  // the Swift client says bye at the end of its input
    chat::Event left = next_from(c, "left", "Swiftier");
    EXPECT_EQ(left.from, joined.from);
    EXPECT_EQ(swift.wait(30s), 0) << ::testing::PrintToString(swift.lines());
    cpp->close();
}

#ifdef LABORATORY_CPP_CLI
TEST(LiveChat, TheCommandLineClientChatsAndQuitsCleanly) {
    auto cpp = Client::connect(test::pinned_options(server(), "Watcher"));
    chat::ChatSession watcher(*cpp);
    watcher.join("cli");
    test::Process cli({LABORATORY_CPP_CLI, "--name", "Cli", "--password-file", server().password_file(), "--fingerprint",
                       server().fingerprint(), "127.0.0.1:" + std::to_string(server().port())},
                      {}, true);
    cli.wait_for_line("Connected to Laboratory");
    cli.write("/join cli\n");
    cli.wait_for_line("joined cli; members: Watcher");
    cli.write("hello from the command line\n");
    chat::Event heard = next_from(watcher, "message", "Cli");
    EXPECT_EQ(heard.text, "hello from the command line");
    watcher.say("cli", "shown \x1b[31mwithout escapes");
    std::string shown = cli.wait_for_line("without escapes");
    EXPECT_NE(shown.find("shown \xEF\xBF\xBD[31mwithout escapes"), std::string::npos) << shown;
    for (const auto& line : cli.lines()) EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    cli.write("/rekey\n");
    cli.wait_for_line("* keys updated");
    cli.write("/quit\n");
    EXPECT_EQ(cli.wait(20s), 0) << ::testing::PrintToString(cli.lines());
    EXPECT_TRUE(cli.saw("bye"));
    next_from(watcher, "left", "Cli");
    cpp->close();
}
#endif

TEST(LiveChat, ChatsWithThePythonClient) {
    // The Python client (Clients/python, installed by scripts/test), through its blocking API.
    const char* script = R"(
import sys
import laboratory_client as lab
from laboratory_client import blocking
port, fingerprint, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with blocking.connect("127.0.0.1", port, password=password, name="Pythia", trust=lab.Pinned(fingerprint)) as s:
    s.chat.join("py")
    print("ready", s.connection_id, flush=True)
    while True:
        chat = getattr(s.next_event(timeout=20), "chat", None)
        if chat and chat.kind == "message" and chat.name == "Cpp":
            print("heard:", chat.text, flush=True)
            break
    s.chat.say("py", "hello from Python")
print("done", flush=True)
)";
    auto cpp = Client::connect(test::pinned_options(server(), "Cpp"));
    chat::ChatSession c(*cpp);
    c.join("py");
    test::Process python({"/usr/bin/env", "python3", "-c", script, std::to_string(server().port()), server().fingerprint(),
                          test::server_password});
    std::string ready = python.wait_for_line("ready", 60s);
    chat::Event joined = next_from(c, "joined", "Pythia", 30s);
    EXPECT_EQ("ready " + std::to_string(joined.from), ready);
    c.say("py", "hello from C++");
    EXPECT_EQ(python.wait_for_line("heard:"), "heard: hello from C++");
    chat::Event heard = next_from(c, "message", "Pythia");
    EXPECT_EQ(heard.text, "hello from Python");
    EXPECT_EQ(heard.from, joined.from);
    next_from(c, "left", "Pythia");
    EXPECT_EQ(python.wait(30s), 0) << ::testing::PrintToString(python.lines());
    cpp->close();
}

TEST(LiveChat, ANewServerRunRestartsTheNumberingAndNothingIsDroppedAsADuplicate) {
    chat::History remembered;
    {
        test::ServerProcess first;
        auto client = Client::connect(test::pinned_options(first, "Before"));
        chat::ChatSession session(*client);
        session.join("restart");
        for (const char* text : {"a", "b", "c", "d"}) session.say("restart", text);
        while (session.poll(200ms)) {
        }
        remembered = session.history();
        client->close();
    }
    ASSERT_GE(*remembered.last("restart"), 5u);
    test::ServerProcess second;  // a new run: rooms and their numbers start again
    auto client = Client::connect(test::pinned_options(second, "After"));
    chat::ChatSession session(*client, remembered);
    chat::Reply reply = session.join("restart");  // after = the old last sequence
    EXPECT_LT(*reply.sequence, *remembered.last("restart"));
    auto own = session.poll(2s);  // our own `joined`, numbered low, is not taken for a duplicate
    ASSERT_TRUE(own);
    EXPECT_EQ(own->kind, "joined");
    EXPECT_EQ(own->sequence, reply.sequence);
    std::uint64_t sequence = session.say("restart", "new run");
    auto message = session.poll(2s);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->sequence, sequence);
    EXPECT_EQ(session.duplicates_dropped(), 0u);
    EXPECT_EQ(session.history().last("restart"), sequence);
    client->close();
}
