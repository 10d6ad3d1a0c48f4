package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The client's encoders (PROTOCOL.md §2, §10): long text is cut on a code point boundary; invalid text is refused. */
class ClientMessageTest {
    @Test
    void longTextIsCutToValidUtf8() throws Exception {
        String text = "a".repeat(65_534) + "é";
        byte[] message = ClientMessage.rename(1, text);
        ByteReader reader = new ByteReader(message);
        assertEquals(0x96, reader.u8("type"));
        assertEquals(1, reader.u64("id"));
        String sent = reader.string("name");
        reader.finish("rename");
        assertEquals(65_534, sent.getBytes(StandardCharsets.UTF_8).length, "the two-byte é does not fit and is left out whole");
        assertEquals("a".repeat(65_534), sent);
        String fits = "a".repeat(65_533) + "é";
        byte[] whole = ClientMessage.name(fits);
        assertEquals(1 + 2 + 65_535, whole.length);
    }

    @Test
    void loneSurrogatesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ClientMessage.name("x\uD800y"));
        assertThrows(IllegalArgumentException.class, () -> ClientMessage.name("\uDC00"));
        assertArrayEquals(new byte[] {(byte) 0x82, 0, 4, (byte) 0xf0, (byte) 0x9f, (byte) 0x98, (byte) 0x80},
                ClientMessage.name("\uD83D\uDE00"));
    }

    @Test
    void fixedLayouts() {
        assertArrayEquals(new byte[] {(byte) 0x95}, ClientMessage.bye());
        assertArrayEquals(new byte[] {(byte) 0x92}, ClientMessage.serverNameQuery());
        byte[] pong = ClientMessage.pong(0x0102030405060708L);
        assertArrayEquals(new byte[] {(byte) 0x94, 1, 2, 3, 4, 5, 6, 7, 8}, pong);
        byte[] update = ClientMessage.keyUpdate(new byte[32], false);
        assertEquals(34, update.length);
        assertEquals(0, update[33]);
        assertThrows(IllegalArgumentException.class, () -> ClientMessage.keyUpdate(new byte[31], true));
        assertEquals(Arrays.toString(new byte[] {(byte) 0x81, 0, 0}), Arrays.toString(ClientMessage.password("")));
    }
}
