package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sessions against a real laboratory-server: echo, names, key updates, clean closes, chat and its resume. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LiveSessionTest {
    @TempDir
    static Path folder;
    static LiveServer server;

    @BeforeAll
    static void start() throws Exception {
        server = LiveServer.start(folder.resolve("server"));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void echoServerNamePingAndRename() throws Exception {
        try (Session session = Session.connect(server.options("Ada"))) {
            assertEquals(List.of("echo", "chat"), session.acceptance().services);
            assertEquals("Laboratory", session.acceptance().serverName);
            assertEquals(server.fingerprint, session.fingerprint());
            assertTrue(session.isEncrypted());
            assertArrayEquals(utf8("héllo \uD83D\uDE00"), session.request("echo", utf8("héllo \uD83D\uDE00")));
            assertArrayEquals(new byte[0], session.request("echo", new byte[0]));
            byte[] large = new byte[512 * 1024];
            large[large.length - 1] = 42;
            assertArrayEquals(large, session.request("echo", large));
            assertEquals("Laboratory", session.serverName());
            assertTrue(session.ping() > 0);
            session.rename("Ada L.");
            RequestException refused = assertThrows(RequestException.class, () -> session.rename(" padded"));
            assertEquals(4, refused.status);
            RequestException unknown = assertThrows(RequestException.class, () -> session.request("nothing", new byte[0]));
            assertEquals(1, unknown.status);
            assertArrayEquals(utf8("still"), session.request("echo", utf8("still")), "a refused rename keeps the session");
        }
    }

    /** The client renews its direction (asking the server to renew its own), and both keep working. */
    @Test
    void keyUpdatesInBothDirections() throws Exception {
        try (Session session = Session.connect(server.options("Rekey"))) {
            for (int round = 1; round <= 5; round++) {
                session.updateKeys(true);
                assertEquals(0, session.sentUnderCurrentKey(), "the next frame is sealed under the new key at counter 0");
                assertArrayEquals(utf8("round " + round), session.request("echo", utf8("round " + round)));
                assertEquals(1, session.sentUnderCurrentKey());
                assertEquals(round, session.keyUpdatesReceived(), "the server answered each request with its own update");
            }
            session.updateKeys(false);
            assertArrayEquals(utf8("after"), session.request("echo", utf8("after")));
            assertEquals(5, session.keyUpdatesReceived(), "an update without a request is never answered");
            assertEquals(6, session.keyUpdatesSent());
        }
    }

    /**
     * The server asks for an update once it has opened 2^20 frames under the client's key (§8) and
     * closes with code 14 past twice that; the client answers at once, so a session of 2^20 + 1000
     * pings continues, and the server's own renewal (2^20 frames sealed) is followed too.
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void answersTheServersRenewalRequest() throws Exception {
        try (Session session = Session.connect(server.options("Renewal"))) {
            int pings = (1 << 20) + 1000;
            session.pingFlood(pings);
            assertArrayEquals(utf8("alive"), session.request("echo", utf8("alive")));
            assertTrue(session.keyUpdatesReceived() >= 1, "the server renewed its key or asked for an update");
            assertTrue(session.keyUpdatesSent() >= 1, "the client answered the server's request");
            assertTrue(session.sentUnderCurrentKey() < (1 << 20), "the client's key was renewed");
        }
    }

    @Test
    void byeWaitsForOutstandingResponsesThenClosesWithCode1() throws Exception {
        Session session = Session.connect(server.options("Bye"));
        List<CompletableFuture<ServerMessage.Response>> responses = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            responses.add(session.requestAsync("echo", utf8("n" + i)));
        }
        CloseReason reason = session.bye();
        assertNotNull(reason, "the server's closing arrived");
        assertEquals(CloseReason.NORMAL, reason.code);
        for (int i = 0; i < 20; i++) {
            assertArrayEquals(utf8("n" + i), responses.get(i).get(1, TimeUnit.SECONDS).body);
        }
        assertTrue(session.isClosed());
        LaboratoryException after = assertThrows(LaboratoryException.class, () -> session.request("echo", new byte[0]));
        assertEquals(CloseReason.NORMAL, after.closeReason().code, "a request after the end reports how the session ended");
    }

    @Test
    void wrongPasswordIsCode6() {
        ConnectOptions options = new ConnectOptions(server.host, server.port, "not it", "Eve", ServerTrust.pinned(server.fingerprint));
        ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class, () -> Session.connect(options));
        assertEquals(LaboratoryException.Kind.CLOSED_BY_SERVER, failure.kind());
        assertEquals(CloseReason.WRONG_PASSWORD, failure.closeReason().code);
    }

    @Test
    void aRejectedNameIsRetriedOnTheSameConnection() throws Exception {
        List<String> asked = new ArrayList<>();
        ConnectOptions options = server.options(" padded").nameRetry((reason, left) -> {
            asked.add(reason + " / " + left);
            return asked.size() == 1 ? "" : "Grace";
        });
        try (Session session = Session.connect(options)) {
            assertEquals(2, asked.size(), asked.toString());
            assertTrue(asked.get(0).endsWith(" / 2"), asked.toString());
            assertTrue(asked.get(1).endsWith(" / 1"), asked.toString());
            assertArrayEquals(utf8("ok"), session.request("echo", utf8("ok")));
        }
        ClientHandshake.HandshakeException given = assertThrows(ClientHandshake.HandshakeException.class,
                () -> Session.connect(server.options(" padded")));
        assertEquals(LaboratoryException.Kind.NAME_REJECTED, given.kind(), "no retry callback: the client gives up");
        ClientHandshake.HandshakeException exhausted = assertThrows(ClientHandshake.HandshakeException.class,
                () -> Session.connect(server.options(" padded").nameRetry((reason, left) -> " still padded")));
        assertEquals(CloseReason.INVALID_NAME, exhausted.closeReason().code, "the third invalid name closes with code 7");
    }

    private static Session chatSession(String name, Chat chat) throws Exception {
        Session session = Session.connect(server.options(name).listener(chat.sessionListener(null)));
        chat.attach(session);
        return session;
    }

    @Test
    void chatBetweenTwoSessions() throws Exception {
        EventLog adaLog = new EventLog();
        EventLog bobLog = new EventLog();
        Chat ada = new Chat(adaLog);
        Chat bob = new Chat(bobLog);
        try (Session adaSession = chatSession("Ada", ada); Session bobSession = chatSession("Bob", bob)) {
            long adaId = adaSession.acceptance().connectionId;
            long bobId = bobSession.acceptance().connectionId;
            ChatReply first = ada.join("two");
            assertEquals(1, first.members.size());
            ChatReply second = bob.join("two");
            assertEquals(2, second.members.size());
            adaLog.await(e -> e.kind.equals("joined") && e.from == bobId, "Ada sees Bob join");
            long said = bob.say("two", "hello Ada");
            ChatEvent message = adaLog.await(e -> "message".equals(e.kind) && "hello Ada".equals(e.text), "Bob's message");
            assertEquals(said, message.sequence);
            assertEquals("Bob", message.name);
            bobSession.rename("Robert");
            ChatEvent renamed = adaLog.await(e -> e.kind.equals("renamed"), "Bob's rename");
            assertEquals("Bob", renamed.oldName);
            assertEquals("Robert", renamed.name);
            ada.direct(bobId, "psst");
            ChatEvent direct = bobLog.await(e -> e.kind.equals("direct"), "Ada's direct message");
            assertEquals(adaId, direct.from);
            assertEquals(null, direct.room);
            // Joining a room one is in replays and announces nothing, and is no restarted numbering.
            int before = adaLog.events.size();
            ada.join("two");
            ChatReply again = ada.join("two", 1L);
            assertEquals(null, again.replayed);
            assertEquals(List.of(), adaLog.notes);
            assertEquals(before, adaLog.events.size());
            assertTrue(ada.who("two", null, null).members.stream().anyMatch(m -> m.name.equals("Robert")));
            assertTrue(ada.rooms(null, null).rooms.stream().anyMatch(r -> r.name.equals("two") && r.members == 2));
            bob.leave("two");
            adaLog.await(e -> e.kind.equals("left") && e.from == bobId, "Bob leaves");
            RequestException notIn = assertThrows(RequestException.class, () -> bob.say("two", "x"));
            assertEquals(2, notIn.status);
            // Ada saw every event of the room once, numbered without gaps.
            List<Long> sequences = new ArrayList<>();
            synchronized (adaLog.events) {
                adaLog.events.stream().filter(e -> "two".equals(e.room)).forEach(e -> sequences.add(e.sequence));
            }
            for (int i = 1; i < sequences.size(); i++) {
                assertEquals(sequences.get(i - 1) + 1, sequences.get(i), sequences.toString());
            }
        }
    }

    /** History resume: a rejoin after a reconnect replays exactly what was missed; older events are reported lost. */
    @Test
    @SuppressWarnings("try") // the sessions are only held open
    void resumeAfterReconnectReplaysMissedEventsAndReportsLostOnes() throws Exception {
        EventLog talkerLog = new EventLog();
        Chat talker = new Chat(talkerLog);
        EventLog readerLog = new EventLog();
        Chat reader = new Chat(readerLog);
        try (Session talking = chatSession("Talker", talker)) {
            talker.join("resume");
            long readerId;
            try (Session reading = chatSession("Reader", reader)) {
                readerId = reading.acceptance().connectionId;
                reader.join("resume");
                talker.say("resume", "seen");
                readerLog.await(e -> "seen".equals(e.text), "the first message");
            }
            talkerLog.await(e -> e.kind.equals("left") && e.from == readerId, "the reader's left, numbered before what follows");
            long readerLast = reader.lastSequences().get("resume");
            for (int i = 0; i < 5; i++) {
                talker.say("resume", "missed " + i);
            }
            // A new session resumes from the old one's memory: exactly the events it missed, once.
            EventLog resumedLog = new EventLog();
            Chat resumed = new Chat(resumedLog, reader.lastSequences());
            try (Session again = chatSession("Reader", resumed)) {
                ChatReply reply = resumed.join("resume");
                assertEquals(6L, reply.replayed, "the reader's own left and five messages (its new joined is not counted)");
                assertEquals(null, reply.missedFrom);
                List<String> texts = new ArrayList<>();
                synchronized (resumedLog.events) {
                    resumedLog.events.forEach(e -> texts.add(e.kind + (e.text == null ? "" : ":" + e.text)));
                    assertEquals(readerLast + 1, resumedLog.events.get(0).sequence);
                }
                assertEquals(List.of("left", "message:missed 0", "message:missed 1", "message:missed 2", "message:missed 3",
                        "message:missed 4", "joined"), texts);
                // Joining again with an older cursor replays events already delivered: they are dropped.
                resumed.leave("resume");
                long before = resumed.droppedDuplicates();
                resumed.join("resume", readerLast);
                assertTrue(resumed.droppedDuplicates() - before >= 7, "dropped " + (resumed.droppedDuplicates() - before));
            }
            // More than the 100 held events later, the gap is reported.
            for (int i = 0; i < 120; i++) {
                talker.say("resume", "flood " + i);
            }
            EventLog lateLog = new EventLog();
            Chat late = new Chat(lateLog, reader.lastSequences());
            try (Session lateSession = chatSession("Late", late)) {
                ChatReply reply = late.join("resume");
                assertEquals(readerLast + 1, reply.missedFrom);
                assertNotNull(reply.missedTo);
                assertEquals(100L, reply.replayed);
                assertEquals(List.of("missed resume " + reply.missedFrom + "-" + reply.missedTo), lateLog.notes);
                assertEquals(reply.missedTo + 1, lateLog.events.get(0).sequence, "replay starts right after the gap");
            }
        }
    }
}
