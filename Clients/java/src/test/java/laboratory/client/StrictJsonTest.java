package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PROTOCOL.md §17's strict JSON: one case per rule, the document's chat examples, and the encoder's output. */
class StrictJsonTest {
    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void refused(String body, String rule) {
        StrictJson.JsonException failure = assertThrows(StrictJson.JsonException.class, () -> StrictJson.parse(utf8(body)), body);
        assertTrue(failure.getMessage().contains(rule), body + ": " + failure.getMessage());
    }

    @Test
    void oneCasePerRule() throws Exception {
        StrictJson.JsonException bom = assertThrows(StrictJson.JsonException.class,
                () -> StrictJson.parse(new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'}));
        assertTrue(bom.getMessage().contains("byte-order mark"));
        assertThrows(StrictJson.JsonException.class, () -> StrictJson.parse(new byte[] {'"', (byte) 0xc3, '"'}), "invalid UTF-8");
        refused("{} x", "after the value");
        refused("{}{}", "after the value");
        refused("{\"room\":\"a\",\"r\\u006fom\":\"b\"}", "twice");
        refused("{\"a\":{\"b\":1,\"b\":2}}", "twice");
        for (String notInteger : List.of("0.0", "1e0", "1E+2", "1.5", "-1.0")) {
            refused("{\"after\":" + notInteger + "}", "not an integer");
        }
        refused("{\"after\":-0}", "-0");
        refused("{\"after\":01}", "leading zero");
        refused("{\"t\":\"\\ud800\"}", "lone surrogate");
        refused("{\"t\":\"\\udc00\"}", "lone surrogate");
        refused("{\"t\":\"\\ud800\\u0041\"}", "lone surrogate");
        refused("{\"t\":\"a\nb\"}", "control character");
        refused("{\"a\":1,}", "member name");
        refused("[1,]", "not a JSON value");
        refused("{'a':1}", "member name");
        refused("{\"a\":NaN}", "not a JSON value");
        refused("{\"a\":1 /* c */}", "expected '}'");
        refused("{\"a\":\"\\x\"}", "invalid escape");
        String deep = "[".repeat(32) + "]".repeat(32);
        assertTrue(StrictJson.parse(utf8(deep)) instanceof List, "32 levels are allowed");
        refused("[".repeat(33) + "]".repeat(33), "levels of nesting");
        refused("{\"a\":" + "[".repeat(32) + "]".repeat(32) + "}", "levels of nesting");
    }

    /** An integer beyond a double's range is refused (from 2^1024 - 2^970 on), either side of the threshold. */
    @Test
    void doubleRange() throws Exception {
        String threshold = BigInteger.TWO.pow(1024).subtract(BigInteger.TWO.pow(970)).toString();
        assertEquals(309, threshold.length());
        String belowThreshold = threshold.substring(0, 308) + "1";
        Map<String, Boolean> cases = new LinkedHashMap<>();
        cases.put("9".repeat(308), true);
        cases.put(belowThreshold, true);
        cases.put("-" + belowThreshold, true);
        cases.put(threshold, false);
        cases.put("-" + threshold, false);
        cases.put("9".repeat(309), false);
        cases.put("5".repeat(310), false);
        cases.put("-" + "1".repeat(10_000), false);
        for (Map.Entry<String, Boolean> entry : cases.entrySet()) {
            String digits = entry.getKey();
            for (String body : List.of("{\"a\":" + digits + "}", "{\"op\":\"rooms\",\"x\":[1,{\"y\":" + digits + "}]}")) {
                String label = digits.length() + " characters in " + body.substring(0, 8);
                if (entry.getValue()) {
                    Map<String, Object> object = StrictJson.parseObject(utf8(body));
                    assertArrayEquals(utf8(body), StrictJson.encode(object), label);
                } else {
                    StrictJson.JsonException failure = assertThrows(StrictJson.JsonException.class,
                            () -> StrictJson.parse(utf8(body)), label);
                    assertEquals("an integer beyond a double's range at byte " + failure.offset, failure.getMessage(), label);
                    assertEquals(body.length() - digits.length() - (body.endsWith("}]}") ? 3 : 1), failure.offset, label);
                }
            }
        }
    }

    @Test
    void valuesAsParsed() throws Exception {
        Map<String, Object> object = StrictJson.parseObject(utf8(
                " {\"u64\":18446744073709551615,\"neg\":-5,\"t\":\"\\ud83d\\ude00\\u00e9\\n\",\"b\":true,\"n\":null,\"l\":[]} "));
        assertEquals(new BigInteger("18446744073709551615"), object.get("u64"));
        assertEquals(-5L, object.get("neg"));
        assertEquals("\uD83D\uDE00\u00e9\n", object.get("t"));
        assertEquals(Boolean.TRUE, object.get("b"));
        assertTrue(object.containsKey("n"));
        assertNull(object.get("n"));
        assertEquals(List.of(), object.get("l"));
    }

    @Test
    void theEncoderWritesOnlyConformingBodies() throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("op", "say");
        body.put("text", "quote \" backslash \\ newline \n bell \u0007 \uD83D\uDE00");
        body.put("after", Long.MAX_VALUE);
        byte[] encoded = StrictJson.encode(body);
        assertEquals(body, StrictJson.parseObject(encoded));
        assertThrows(IllegalArgumentException.class, () -> StrictJson.encode(Map.of("after", 1.0)));
        assertThrows(IllegalArgumentException.class, () -> StrictJson.encode(Map.of("text", "\uD800")));
        BigInteger threshold = BigInteger.TWO.pow(1024).subtract(BigInteger.TWO.pow(970));
        assertEquals(threshold.subtract(BigInteger.ONE), StrictJson.parseObject(StrictJson.encode(
                Map.of("a", threshold.subtract(BigInteger.ONE)))).get("a"));
        assertThrows(IllegalArgumentException.class, () -> StrictJson.encode(Map.of("a", threshold)));
        assertThrows(IllegalArgumentException.class, () -> StrictJson.encode(Map.of("a", threshold.negate())));
        Object deepest = StrictJson.parse(utf8("[".repeat(32) + "]".repeat(32)));
        assertThrows(IllegalArgumentException.class, () -> StrictJson.encode(List.of(deepest)), "33 levels");
    }

    /** The document's example requests, replies and events: each parses, and re-encodes to the same bytes. */
    @Test
    void chatExamplesFromTheDocument() throws Exception {
        int lines = 0;
        for (String info : List.of("jsonl chat-requests", "jsonl chat-replies", "jsonl chat-events")) {
            List<List<String>> blocks = ProtocolDocument.blocks(info);
            assertEquals(1, blocks.size(), info);
            for (String line : blocks.get(0)) {
                Map<String, Object> object = StrictJson.parseObject(utf8(line));
                assertArrayEquals(utf8(line), StrictJson.encode(object), line);
                if (info.endsWith("replies")) {
                    ChatReply.parse(utf8(line));
                } else if (info.endsWith("events")) {
                    ChatEvent event = ChatEvent.parse(utf8(line));
                    assertEquals(object.get("kind"), event.kind);
                }
                lines++;
            }
        }
        assertEquals(7 + 7 + 5, lines);
        ChatReply resumed = ChatReply.parse(utf8(ProtocolDocument.blocks("jsonl chat-replies").get(0).get(1)));
        assertEquals(41L, resumed.missedFrom);
        assertEquals(59L, resumed.missedTo);
        assertEquals(100L, resumed.replayed);
        assertEquals(160L, resumed.sequence);
    }
}
