package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A server of its own per test: a locked-out source is refused with retry_ms; a graceful shutdown reaches the session. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RefusalAndShutdownLiveTest {
    @TempDir
    Path folder;

    @Test
    void aLockedOutSourceIsRefusedWithRetryMs() throws Exception {
        try (LiveServer server = LiveServer.start(folder.resolve("server"))) {
            ConnectOptions wrong = new ConnectOptions(server.host, server.port, "wrong", "Eve", ServerTrust.pinned(server.fingerprint));
            LaboratoryException refused = null;
            // Each wrong password earns 5 s; about the fifth connection is refused (PROTOCOL.md §9).
            for (int attempt = 0; attempt < 10 && refused == null; attempt++) {
                try {
                    Session.connect(wrong).abort();
                } catch (LaboratoryException failure) {
                    assertNotNull(failure.closeReason(), failure.getMessage());
                    if (failure.closeReason().code == CloseReason.REFUSED) {
                        refused = failure;
                    } else {
                        assertEquals(CloseReason.WRONG_PASSWORD, failure.closeReason().code);
                    }
                }
            }
            assertNotNull(refused, "the source was never refused");
            assertEquals(LaboratoryException.Kind.CLOSED_BY_SERVER, refused.kind());
            assertTrue(refused.retryAfterMillis() > 0 && refused.retryAfterMillis() <= 600_000, "retry_ms " + refused.retryAfterMillis());
            assertEquals(ClientHandshake.Step.HELLO, ((ClientHandshake.HandshakeException) refused).step, "instead of the hello");
        }
    }

    @Test
    void aGracefulShutdownSendsServerStoppingThenCode9() throws Exception {
        LiveServer server = LiveServer.start(folder.resolve("server"));
        CompletableFuture<Long> stopping = new CompletableFuture<>();
        CompletableFuture<LaboratoryException> closed = new CompletableFuture<>();
        SessionListener listener = new SessionListener() {
            @Override
            public void onServerStopping(long graceMillis) {
                stopping.complete(graceMillis);
            }

            @Override
            public void onClosed(LaboratoryException reason) {
                closed.complete(reason);
            }
        };
        Session session = Session.connect(server.options("Stay").listener(listener));
        server.process.destroy();
        assertTrue(stopping.get(20, TimeUnit.SECONDS) > 0);
        assertArrayEquals("during grace".getBytes(StandardCharsets.UTF_8),
                session.request("echo", "during grace".getBytes(StandardCharsets.UTF_8)), "the session works during the grace period");
        LaboratoryException end = closed.get(30, TimeUnit.SECONDS);
        assertEquals(CloseReason.SERVER_STOPPING, end.closeReason().code);
        server.close();
    }
}
