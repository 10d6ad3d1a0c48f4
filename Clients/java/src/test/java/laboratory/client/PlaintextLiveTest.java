package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Plaintext sessions only when both sides opt in (PROTOCOL.md §5), and handshake limits the client keeps itself. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PlaintextLiveTest {
    @TempDir
    Path folder;

    @Test
    void plaintextOnlyWhenTheServerAllowsIt() throws Exception {
        try (LiveServer server = LiveServer.start(folder.resolve("plain"), "--allow-plaintext", "--penalty-exempt", "127.0.0.1")) {
            try (Session session = Session.connect(server.options("Plain").plaintext(true))) {
                assertFalse(session.isEncrypted());
                assertArrayEquals("clear".getBytes(StandardCharsets.UTF_8), session.request("echo", "clear".getBytes(StandardCharsets.UTF_8)));
                assertEquals(LaboratoryException.Kind.PROTOCOL_VIOLATION,
                        assertThrows(LaboratoryException.class, () -> session.updateKeys(true)).kind(), "no keys to update");
            }
        }
        try (LiveServer server = LiveServer.start(folder.resolve("sealed"), "--penalty-exempt", "127.0.0.1")) {
            ClientHandshake.HandshakeException refused = assertThrows(ClientHandshake.HandshakeException.class,
                    () -> Session.connect(server.options("Plain").plaintext(true)));
            assertEquals(CloseReason.PLAINTEXT_NOT_ALLOWED, refused.closeReason().code);
            LaboratoryException tooLong = assertThrows(LaboratoryException.class,
                    () -> Session.connect(server.options("é".repeat(2100))));
            assertEquals(LaboratoryException.Kind.PROTOCOL_VIOLATION, tooLong.kind());
            try (Session session = Session.connect(server.options("After"))) {
                assertArrayEquals("ok".getBytes(StandardCharsets.UTF_8), session.request("echo", "ok".getBytes(StandardCharsets.UTF_8)));
            }
        }
    }
}
