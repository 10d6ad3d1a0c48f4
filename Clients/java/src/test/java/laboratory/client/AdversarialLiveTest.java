package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A man in the middle between the client and a real server: a wrong key is refused before a byte
 * is sent, a forged hello too, and a tampered frame in either direction ends the session. The
 * server exempts loopback from penalties here, so these failures do not lock out other tests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdversarialLiveTest {
    @TempDir
    static Path folder;
    static LiveServer server;

    @BeforeAll
    static void start() throws Exception {
        server = LiveServer.start(folder.resolve("server"), "--penalty-exempt", "127.0.0.1");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static ConnectOptions through(Relay relay, ServerTrust trust) {
        return new ConnectOptions(server.host, relay.port(), LiveServer.PASSWORD, "Mallory", trust);
    }

    @Test
    void aWrongPinnedKeySendsNothing() throws Exception {
        String other = "SHA256:" + "A".repeat(43);
        try (Relay relay = new Relay(server.port, Relay.NONE, Relay.NONE)) {
            ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class,
                    () -> Session.connect(through(relay, ServerTrust.pinned(other))));
            assertEquals(LaboratoryException.Kind.UNTRUSTED_KEY, failure.kind());
            assertTrue(failure.getMessage().contains(server.fingerprint), "the whole fingerprint is shown: " + failure.getMessage());
            assertTrue(relay.clientClosed.await(10, TimeUnit.SECONDS));
            assertEquals(0, relay.bytesFromClient.get(), "not even the key exchange was sent");
        }
    }

    @Test
    void aKnownHostsMismatchSendsNothing() throws Exception {
        KnownHosts file = new KnownHosts(folder.resolve("known_hosts"));
        file.add(server.host, server.port, "SHA256:" + "B".repeat(43));
        try (Relay relay = new Relay(server.port, Relay.NONE, Relay.NONE)) {
            // The relay's port differs from the server's: record the wrong key under the relay's endpoint.
            file.add(server.host, relay.port(), "SHA256:" + "B".repeat(43));
            ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class,
                    () -> Session.connect(through(relay, ServerTrust.knownHosts(new KnownHosts(folder.resolve("known_hosts")), true))));
            assertEquals(LaboratoryException.Kind.UNTRUSTED_KEY, failure.kind(), "accept-new never overrides a recorded key");
            assertTrue(relay.clientClosed.await(10, TimeUnit.SECONDS));
            assertEquals(0, relay.bytesFromClient.get());
        }
    }

    @Test
    void aForgedHelloIsRefusedBeforeSending() throws Exception {
        // Another transport key's window, as an attacker replaying an old certificate would need.
        Relay.Tamper forge = (index, payload) -> {
            if (index == 0) {
                payload[payload.length - 32 - 256 - 2 - 3] ^= 1; // a byte of not_after
            }
            return payload;
        };
        try (Relay relay = new Relay(server.port, Relay.NONE, forge)) {
            ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class,
                    () -> Session.connect(through(relay, ServerTrust.pinned(server.fingerprint))));
            assertEquals(LaboratoryException.Kind.BAD_CERTIFICATE, failure.kind());
            assertTrue(relay.clientClosed.await(10, TimeUnit.SECONDS));
            assertEquals(0, relay.bytesFromClient.get());
        }
    }

    @Test
    void aChangedServerRandomGivesKeysTheServerCannotUse() throws Exception {
        // The random is not signed, but the key derivation hashes the whole hello: the password prompt cannot open.
        Relay.Tamper swap = (index, payload) -> {
            if (index == 0) {
                payload[payload.length - 1] ^= 1;
            }
            return payload;
        };
        try (Relay relay = new Relay(server.port, Relay.NONE, swap)) {
            ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class,
                    () -> Session.connect(through(relay, ServerTrust.pinned(server.fingerprint))));
            assertEquals(LaboratoryException.Kind.DECRYPTION_FAILED, failure.kind());
            assertEquals(ClientHandshake.Step.KEY_EXCHANGE, failure.step, "no password was sent");
        }
    }

    @Test
    void aTamperedServerFrameEndsTheSession() throws Exception {
        // Frames to the client: hello, passwordPrompt, namePrompt, accepted, then the echo response.
        Relay.Tamper flip = (index, payload) -> {
            if (index == 4) {
                payload[payload.length / 2] ^= 0x01;
            }
            return payload;
        };
        try (Relay relay = new Relay(server.port, Relay.NONE, flip)) {
            Session session = Session.connect(through(relay, ServerTrust.pinned(server.fingerprint)));
            LaboratoryException failure = assertThrows(LaboratoryException.class,
                    () -> session.request("echo", "hi".getBytes(StandardCharsets.UTF_8)));
            assertEquals(LaboratoryException.Kind.DECRYPTION_FAILED, failure.kind());
            assertTrue(session.isClosed());
        }
    }

    @Test
    void aTamperedClientFrameIsClosedWithCode4() throws Exception {
        // Frames to the server: key exchange, password, name, then the first request.
        Relay.Tamper flip = (index, payload) -> {
            if (index == 4) {
                payload[0] ^= 0x01;
            }
            return payload;
        };
        try (Relay relay = new Relay(server.port, flip, Relay.NONE)) {
            Session session = Session.connect(through(relay, ServerTrust.pinned(server.fingerprint)));
            assertArrayEquals("fine".getBytes(StandardCharsets.UTF_8), session.request("echo", "fine".getBytes(StandardCharsets.UTF_8)));
            LaboratoryException failure = assertThrows(LaboratoryException.class,
                    () -> session.request("echo", "hi".getBytes(StandardCharsets.UTF_8)));
            assertEquals(LaboratoryException.Kind.CLOSED_BY_SERVER, failure.kind());
            assertEquals(CloseReason.DECRYPTION_FAILED, failure.closeReason().code);
        }
    }

    @Test
    void aReplayedServerFrameEndsTheSession() throws Exception {
        byte[][] kept = new byte[1][];
        Relay.Tamper replay = (index, payload) -> {
            if (index == 4) {
                kept[0] = payload.clone();
            }
            return index == 5 ? kept[0] : payload;
        };
        try (Relay relay = new Relay(server.port, Relay.NONE, replay)) {
            Session session = Session.connect(through(relay, ServerTrust.pinned(server.fingerprint)));
            assertArrayEquals("one".getBytes(StandardCharsets.UTF_8), session.request("echo", "one".getBytes(StandardCharsets.UTF_8)));
            LaboratoryException failure = assertThrows(LaboratoryException.class,
                    () -> session.request("echo", "two".getBytes(StandardCharsets.UTF_8)));
            assertEquals(LaboratoryException.Kind.DECRYPTION_FAILED, failure.kind());
        }
    }
}
