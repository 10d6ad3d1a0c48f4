package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The handshake state machine as a table: every server message in every state; only the expected
 * one advances, a {@code closing} ends it as the server's refusal, anything else is a protocol
 * violation. Plus the hello's checks, trust, name retry and unopenable frames.
 */
class ClientHandshakeTest {
    private static final Map<String, byte[]> V = ProtocolDocument.vectors();
    private static final long NOW = 1_767_225_600_000L + 1;

    private static ClientHandshake machineIn(ClientHandshake.State state) throws Exception {
        ClientHandshake machine = new ClientHandshake("correct horse battery staple", "Ada", false, 600_000);
        machine.receiveHello(V.get("hello_payload"), NOW);
        machine.trustDecided(null, V.get("secret"));
        if (state == ClientHandshake.State.AWAITING_PASSWORD_PROMPT) {
            return machine;
        }
        machine.receive(new ServerMessage.PasswordPrompt());
        if (state == ClientHandshake.State.AWAITING_NAME_PROMPT) {
            return machine;
        }
        machine.receive(new ServerMessage.NamePrompt());
        if (state == ClientHandshake.State.AWAITING_ACCEPTANCE) {
            return machine;
        }
        machine.receive(new ServerMessage.NameRejected("display name is empty", 2));
        assertEquals(ClientHandshake.State.AWAITING_NEW_NAME, machine.state());
        return machine;
    }

    private static Map<String, ServerMessage> everyMessage() {
        Map<String, ServerMessage> messages = new LinkedHashMap<>();
        messages.put("passwordPrompt", new ServerMessage.PasswordPrompt());
        messages.put("namePrompt", new ServerMessage.NamePrompt());
        messages.put("accepted", new ServerMessage.Accepted(1, "Laboratory", List.of("echo")));
        messages.put("closing", new ServerMessage.Closing(new CloseReason(5, "handshake timeout", -1)));
        messages.put("response", new ServerMessage.Response(1, 0, "", new byte[0]));
        messages.put("event", new ServerMessage.Event("chat", new byte[0]));
        messages.put("serverName", new ServerMessage.ServerName("Laboratory"));
        messages.put("ping", new ServerMessage.Ping(1));
        messages.put("pong", new ServerMessage.Pong(1));
        messages.put("serverStopping", new ServerMessage.ServerStopping(5000));
        messages.put("keyUpdate", new ServerMessage.KeyUpdate(new byte[32], true));
        messages.put("nameRejected", new ServerMessage.NameRejected("display name is empty", 2));
        return messages;
    }

    @Test
    void everyMessageInEveryState() throws Exception {
        Map<ClientHandshake.State, List<String>> advancing = new LinkedHashMap<>();
        advancing.put(ClientHandshake.State.AWAITING_PASSWORD_PROMPT, List.of("passwordPrompt"));
        advancing.put(ClientHandshake.State.AWAITING_NAME_PROMPT, List.of("namePrompt"));
        advancing.put(ClientHandshake.State.AWAITING_ACCEPTANCE, List.of("accepted", "nameRejected"));
        advancing.put(ClientHandshake.State.AWAITING_NEW_NAME, List.of());
        int checked = 0;
        for (Map.Entry<ClientHandshake.State, List<String>> row : advancing.entrySet()) {
            for (Map.Entry<String, ServerMessage> message : everyMessage().entrySet()) {
                ClientHandshake machine = machineIn(row.getKey());
                String label = message.getKey() + " in " + row.getKey();
                if (row.getValue().contains(message.getKey())) {
                    List<ClientHandshake.Action> actions = machine.receive(message.getValue());
                    assertEquals(1, actions.size(), label);
                    checked++;
                    continue;
                }
                ClientHandshake.HandshakeException failure =
                        assertThrows(ClientHandshake.HandshakeException.class, () -> machine.receive(message.getValue()), label);
                boolean closing = message.getKey().equals("closing") && row.getKey() != ClientHandshake.State.AWAITING_NEW_NAME;
                assertEquals(closing ? LaboratoryException.Kind.CLOSED_BY_SERVER : LaboratoryException.Kind.PROTOCOL_VIOLATION,
                        failure.kind(), label);
                assertEquals(ClientHandshake.State.FAILED, machine.state(), label);
                checked++;
            }
        }
        assertEquals(4 * 12, checked);
    }

    @Test
    void theExpectedMessagesAnswerThePrompts() throws Exception {
        ClientHandshake machine = machineIn(ClientHandshake.State.AWAITING_PASSWORD_PROMPT);
        assertEquals(ClientHandshake.Step.KEY_EXCHANGE, machine.step());
        var password = assertInstanceOf(ClientHandshake.Send.class, machine.receive(new ServerMessage.PasswordPrompt()).get(0));
        assertArrayEquals(ClientMessage.password("correct horse battery staple"), password.message);
        var name = assertInstanceOf(ClientHandshake.Send.class, machine.receive(new ServerMessage.NamePrompt()).get(0));
        assertArrayEquals(ClientMessage.name("Ada"), name.message);
        assertInstanceOf(ClientHandshake.Accepted.class,
                machine.receive(new ServerMessage.Accepted(7, "Laboratory", List.of("echo", "chat"))).get(0));
        assertEquals(ClientHandshake.State.ACCEPTED, machine.state());
        assertThrows(ClientHandshake.HandshakeException.class, () -> machine.receive(new ServerMessage.Ping(1)));
    }

    @Test
    void nameRetryIsOneNamePerRejection() throws Exception {
        ClientHandshake machine = machineIn(ClientHandshake.State.AWAITING_NEW_NAME);
        var send = assertInstanceOf(ClientHandshake.Send.class, machine.retryName("Bob").get(0));
        assertArrayEquals(ClientMessage.name("Bob"), send.message);
        assertEquals(ClientHandshake.State.AWAITING_ACCEPTANCE, machine.state());
        assertThrows(ClientHandshake.HandshakeException.class, () -> machine.retryName("Carol"),
                "a name the server has not asked for");
        ClientHandshake other = machineIn(ClientHandshake.State.AWAITING_NEW_NAME);
        assertEquals(LaboratoryException.Kind.NAME_REJECTED, other.giveUpName().kind());
        assertEquals(ClientHandshake.State.FAILED, other.state());
    }

    @Test
    void untrustedKeySendsNothing() throws Exception {
        ClientHandshake machine = new ClientHandshake("pw", "Ada", false, 600_000);
        machine.receiveHello(V.get("hello_payload"), NOW);
        ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class,
                () -> machine.trustDecided("not the pinned key", V.get("secret")));
        assertEquals(LaboratoryException.Kind.UNTRUSTED_KEY, failure.kind());
        assertEquals(ClientHandshake.Step.HELLO, failure.step);
    }

    @Test
    void validityWindowWithTolerance() throws Exception {
        long start = 1_767_225_600_000L;
        long end = start + 630_000;
        for (long now : new long[] {start + 1, start - 599_999, end + 599_999}) {
            new ClientHandshake("pw", "Ada", false, 600_000).receiveHello(V.get("hello_payload"), now);
        }
        for (long now : new long[] {start - 600_001, end + 600_001}) {
            ClientHandshake machine = new ClientHandshake("pw", "Ada", false, 600_000);
            ClientHandshake.HandshakeException failure =
                    assertThrows(ClientHandshake.HandshakeException.class, () -> machine.receiveHello(V.get("hello_payload"), now));
            assertEquals(LaboratoryException.Kind.BAD_CERTIFICATE, failure.kind());
        }
    }

    @Test
    void aForgedCertificateIsRefused() {
        byte[] hello = V.get("hello_payload");
        // Flip one byte in the transport key, the window and the signature in turn.
        for (int offset : new int[] {8 + 294 + 2 + 100, 8 + 294 + 2 + 294 + 3, hello.length - 32 - 5}) {
            byte[] forged = hello.clone();
            forged[offset] ^= 1;
            ClientHandshake machine = new ClientHandshake("pw", "Ada", false, 600_000);
            ClientHandshake.HandshakeException failure =
                    assertThrows(ClientHandshake.HandshakeException.class, () -> machine.receiveHello(forged, NOW));
            assertEquals(LaboratoryException.Kind.BAD_CERTIFICATE, failure.kind(), "byte " + offset);
        }
        byte[] notAHello = Arrays.copyOf(hello, hello.length + 1);
        ClientHandshake machine = new ClientHandshake("pw", "Ada", false, 600_000);
        assertEquals(LaboratoryException.Kind.PROTOCOL_VIOLATION,
                assertThrows(ClientHandshake.HandshakeException.class, () -> machine.receiveHello(notAHello, NOW)).kind());
    }

    @Test
    void unopenableFrames() throws Exception {
        byte[] plaintextClosing = new ByteWriter().u8(0x04).u16(5).string("too slow").toByteArray();
        ClientHandshake waiting = machineIn(ClientHandshake.State.AWAITING_PASSWORD_PROMPT);
        ClientHandshake.HandshakeException closed = waiting.receiveUnopenable(plaintextClosing);
        assertEquals(LaboratoryException.Kind.CLOSED_BY_SERVER, closed.kind());
        assertEquals(5, closed.closeReason().code);
        ClientHandshake later = machineIn(ClientHandshake.State.AWAITING_NAME_PROMPT);
        assertEquals(LaboratoryException.Kind.DECRYPTION_FAILED, later.receiveUnopenable(plaintextClosing).kind(),
                "once the prompt opened, a plaintext closing is a forgery");
        ClientHandshake garbage = machineIn(ClientHandshake.State.AWAITING_PASSWORD_PROMPT);
        assertEquals(LaboratoryException.Kind.DECRYPTION_FAILED, garbage.receiveUnopenable(new byte[40]).kind());
    }

    @Test
    void plaintextSessionSendsTheEmptyKeyExchangeAndNoKeys() throws Exception {
        ClientHandshake machine = new ClientHandshake("pw", "Ada", true, 600_000);
        machine.receiveHello(V.get("hello_payload"), NOW);
        List<ClientHandshake.Action> actions = machine.trustDecided(null, new byte[32]);
        assertEquals(1, actions.size());
        assertEquals(0, assertInstanceOf(ClientHandshake.SendPlaintext.class, actions.get(0)).payload.length);
    }
}
