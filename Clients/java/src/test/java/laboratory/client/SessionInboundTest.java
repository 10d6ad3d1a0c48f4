package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What an accepted session does with each server message (PROTOCOL.md §8, §12). */
class SessionInboundTest {
    @Test
    void aKeyUpdateRequestIsAppliedThenAnswered() throws Exception {
        byte[] secret = new byte[32];
        secret[0] = 1;
        List<SessionInbound.Action> actions = new SessionInbound(true).receive(new ServerMessage.KeyUpdate(secret, true));
        assertEquals(2, actions.size());
        assertArrayEquals(secret, assertInstanceOf(SessionInbound.UpdateOpener.class, actions.get(0)).secret);
        assertInstanceOf(SessionInbound.AnswerKeyUpdate.class, actions.get(1));
    }

    @Test
    void anUpdateWithoutRequestIsNeverAnswered() throws Exception {
        List<SessionInbound.Action> actions = new SessionInbound(true).receive(new ServerMessage.KeyUpdate(new byte[32], false));
        assertEquals(1, actions.size());
        assertInstanceOf(SessionInbound.UpdateOpener.class, actions.get(0));
    }

    @Test
    void pingsAreAnsweredWithTheirValue() throws Exception {
        var pong = assertInstanceOf(SessionInbound.SendPong.class,
                new SessionInbound(true).receive(new ServerMessage.Ping(0xfedcba9876543210L)).get(0));
        assertEquals(0xfedcba9876543210L, pong.value);
    }

    @Test
    void violations() throws Exception {
        assertThrows(LaboratoryException.class,
                () -> new SessionInbound(false).receive(new ServerMessage.KeyUpdate(new byte[32], true)),
                "a key update in a plaintext session");
        for (ServerMessage handshake : List.of(new ServerMessage.PasswordPrompt(), new ServerMessage.NamePrompt(),
                new ServerMessage.Accepted(1, "x", List.of()), new ServerMessage.NameRejected("x", 1))) {
            assertThrows(LaboratoryException.class, () -> new SessionInbound(true).receive(handshake));
        }
        SessionInbound inbound = new SessionInbound(true);
        var closed = assertInstanceOf(SessionInbound.Closed.class,
                inbound.receive(new ServerMessage.Closing(new CloseReason(9, "stopping", -1))).get(0));
        assertEquals(9, closed.reason.code);
        assertThrows(LaboratoryException.class, () -> inbound.receive(new ServerMessage.KeyUpdate(new byte[32], false)),
                "nothing follows closing, not even a key update");
    }

    @Test
    void deliveries() throws Exception {
        for (ServerMessage message : List.of(new ServerMessage.Response(1, 0, "", new byte[0]),
                new ServerMessage.Event("chat", new byte[0]), new ServerMessage.ServerName("x"), new ServerMessage.Pong(1),
                new ServerMessage.ServerStopping(5000))) {
            assertEquals(message, assertInstanceOf(SessionInbound.Deliver.class, new SessionInbound(true).receive(message).get(0)).message);
        }
    }

    @Test
    void strictDecoding() {
        byte[][] malformed = {
            {},
            {0x05},
            {0x01, 0x00},
            {0x13, 0, 0, 0},
            {0x16, 0, 0},
            new ByteWriter().u8(0x16).raw(new byte[32]).u8(2).toByteArray(),
            new ByteWriter().u8(0x17).string("x").u8(0).toByteArray(),
            new ByteWriter().u8(0x04).u16(15).string("x").u32(0).toByteArray(),
            new ByteWriter().u8(0x04).u16(6).string("x").u32(5).toByteArray(),
            new ByteWriter().u8(0x12).u16(2).raw(new byte[] {(byte) 0xc3, 0x28}).toByteArray(),
            new ByteWriter().u8(0x10).u64(1).u16(0).string("").u32(10).raw(new byte[3]).toByteArray(),
        };
        for (byte[] payload : malformed) {
            assertEquals(LaboratoryException.Kind.PROTOCOL_VIOLATION,
                    assertThrows(LaboratoryException.class, () -> ServerMessage.decode(payload)).kind());
        }
    }
}
