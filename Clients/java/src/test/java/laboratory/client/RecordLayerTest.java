package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The record layer refuses every frame that is not the next one sealed under the current key (PROTOCOL.md §7, §16). */
class RecordLayerTest {
    private static final byte[] KEY = new byte[32];
    private static final byte[] IV = new byte[12];
    private static final byte[] IV_SECRET = new byte[32];

    static {
        Arrays.fill(KEY, (byte) 7);
        Arrays.fill(IV, (byte) 9);
        Arrays.fill(IV_SECRET, (byte) 3);
    }

    private static byte[] text(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private static void refused(RecordDirection opener, byte[] payload, String why) {
        long before = opener.counter();
        LaboratoryException failure = assertThrows(LaboratoryException.class, () -> opener.open(payload), why);
        assertEquals(LaboratoryException.Kind.DECRYPTION_FAILED, failure.kind(), why);
        assertEquals(before, opener.counter(), "a frame that fails does not advance the counter: " + why);
    }

    @Test
    void tamperedReplayedReorderedShortAndForeignFramesFail() throws Exception {
        RecordDirection sealer = new RecordDirection(KEY, IV);
        RecordDirection opener = new RecordDirection(KEY, IV);
        byte[] first = sealer.seal(text("first"));
        byte[] second = sealer.seal(text("second"));
        assertEquals(5 + RecordDirection.TAG_LENGTH, first.length);
        refused(opener, second, "reordered");
        for (int i = 0; i < first.length; i++) {
            byte[] tampered = first.clone();
            tampered[i] ^= 0x40;
            refused(opener, tampered, "byte " + i + " changed");
        }
        refused(opener, Arrays.copyOf(first, first.length - 1), "cut");
        refused(opener, new byte[15], "shorter than the tag");
        byte[] other = KEY.clone();
        other[0] ^= 1;
        refused(opener, new RecordDirection(other, IV).seal(text("first")), "sealed under another key");
        assertArrayEquals(text("first"), opener.open(first));
        refused(opener, first, "replayed");
        assertArrayEquals(text("second"), opener.open(second));
        assertEquals(2, opener.counter());
    }

    @Test
    void aReflectedFrameFails() {
        SessionKeys keys = SessionKeys.derive(new byte[32], new byte[32], new byte[] {1});
        byte[] sent = new RecordDirection(keys.c2sKey, keys.c2sIv).seal(text("to the server"));
        refused(new RecordDirection(keys.s2cKey, keys.s2cIv), sent, "the client's own frame sent back to it");
    }

    @Test
    void updatesChainAndOnlyTheNewKeyOpensWhatFollows() throws Exception {
        RecordDirection sealer = new RecordDirection(KEY, IV);
        RecordDirection opener = new RecordDirection(KEY, IV);
        for (byte[] secret : List.of(new byte[32], KEY, IV_SECRET)) {
            byte[] update = sealer.seal(text("update"));
            sealer.update(secret);
            byte[] after = sealer.seal(text("after"));
            assertEquals(1, sealer.counter());
            assertArrayEquals(text("update"), opener.open(update));
            refused(opener, after, "opened without applying the update");
            opener.update(secret);
            assertArrayEquals(text("after"), opener.open(after));
        }
        assertArrayEquals(sealer.key(), opener.key());
    }
}
