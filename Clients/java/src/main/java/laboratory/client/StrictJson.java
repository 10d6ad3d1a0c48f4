package laboratory.client;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The chat service's strict JSON (PROTOCOL.md §17), parsed and written without any dependency.
 *
 * <p>Parsing refuses, with the rule and the byte offset: a byte-order mark, invalid UTF-8,
 * anything but whitespace around the value, a member name twice in one object (after unescaping),
 * a number that is not an integer ({@code 0.0}, {@code 1e0}, {@code -0}, {@code 01}), an integer
 * beyond a double's range (from 2^1024 - 2^970 on, at least 309 digits), an escaped lone
 * surrogate, more than 32 levels of nesting, and everything RFC 8259 refuses. Values become
 * {@code Map<String, Object>} (in member order), {@code List<Object>}, {@code String},
 * {@code Long} (or {@code BigInteger} beyond a long), {@code Boolean} and {@code null}.
 *
 * <p>Writing accepts the same types (and {@code Integer}); it refuses floating-point numbers,
 * integers beyond a double's range and strings with lone surrogates, so what it writes always
 * conforms.
 */
public final class StrictJson {
    /** The deepest nesting of objects and arrays allowed, the outer value included. */
    public static final int MAXIMUM_DEPTH = 32;

    private final byte[] bytes;
    private int offset;

    private StrictJson(byte[] bytes) {
        this.bytes = bytes;
    }

    /** A body that breaks a rule: the rule in words and where. */
    public static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;
        /** The byte offset of the problem. */
        public final int offset;

        JsonException(String rule, int offset) {
            super(rule + " at byte " + offset);
            this.offset = offset;
        }
    }

    /** Parses exactly one JSON value. */
    public static Object parse(byte[] body) throws JsonException {
        if (body.length >= 3 && (body[0] & 0xff) == 0xef && (body[1] & 0xff) == 0xbb && (body[2] & 0xff) == 0xbf) {
            throw new JsonException("a byte-order mark", 0);
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body));
        } catch (CharacterCodingException error) {
            throw new JsonException("invalid UTF-8", 0);
        }
        StrictJson parser = new StrictJson(body);
        parser.whitespace();
        Object value = parser.value(1);
        parser.whitespace();
        if (parser.offset != body.length) {
            throw new JsonException("something after the value", parser.offset);
        }
        return value;
    }

    /** Parses exactly one JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(byte[] body) throws JsonException {
        Object value = parse(body);
        if (!(value instanceof Map)) {
            throw new JsonException("not a JSON object", 0);
        }
        return (Map<String, Object>) value;
    }

    private void whitespace() {
        while (offset < bytes.length) {
            byte b = bytes[offset];
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return;
            }
            offset++;
        }
    }

    private int peek() throws JsonException {
        if (offset >= bytes.length) {
            throw new JsonException("the body ends inside a value", offset);
        }
        return bytes[offset] & 0xff;
    }

    private void expect(char c) throws JsonException {
        if (peek() != c) {
            throw new JsonException("expected '" + c + "'", offset);
        }
        offset++;
    }

    private Object value(int depth) throws JsonException {
        int c = peek();
        switch (c) {
            case '{':
                return object(depth);
            case '[':
                return array(depth);
            case '"':
                return string();
            case 't':
                literal("true");
                return Boolean.TRUE;
            case 'f':
                literal("false");
                return Boolean.FALSE;
            case 'n':
                literal("null");
                return null;
            default:
                if (c == '-' || c >= '0' && c <= '9') {
                    return number();
                }
                throw new JsonException("not a JSON value", offset);
        }
    }

    private void literal(String word) throws JsonException {
        for (int i = 0; i < word.length(); i++) {
            if (offset >= bytes.length || bytes[offset] != word.charAt(i)) {
                throw new JsonException("not a JSON value", offset);
            }
            offset++;
        }
    }

    private Map<String, Object> object(int depth) throws JsonException {
        if (depth > MAXIMUM_DEPTH) {
            throw new JsonException("more than " + MAXIMUM_DEPTH + " levels of nesting", offset);
        }
        expect('{');
        Map<String, Object> members = new LinkedHashMap<>();
        whitespace();
        if (peek() == '}') {
            offset++;
            return members;
        }
        while (true) {
            whitespace();
            int at = offset;
            if (peek() != '"') {
                throw new JsonException("expected a member name", offset);
            }
            String name = string();
            if (members.containsKey(name)) {
                throw new JsonException("the member name \"" + name + "\" twice", at);
            }
            whitespace();
            expect(':');
            whitespace();
            members.put(name, value(depth + 1));
            whitespace();
            if (peek() == ',') {
                offset++;
                continue;
            }
            expect('}');
            return members;
        }
    }

    private List<Object> array(int depth) throws JsonException {
        if (depth > MAXIMUM_DEPTH) {
            throw new JsonException("more than " + MAXIMUM_DEPTH + " levels of nesting", offset);
        }
        expect('[');
        List<Object> items = new ArrayList<>();
        whitespace();
        if (peek() == ']') {
            offset++;
            return items;
        }
        while (true) {
            whitespace();
            items.add(value(depth + 1));
            whitespace();
            if (peek() == ',') {
                offset++;
                continue;
            }
            expect(']');
            return items;
        }
    }

    private Object number() throws JsonException {
        int start = offset;
        if (bytes[offset] == '-') {
            offset++;
        }
        int digits = offset;
        while (offset < bytes.length && bytes[offset] >= '0' && bytes[offset] <= '9') {
            offset++;
        }
        if (offset == digits) {
            throw new JsonException("a '-' without digits", start);
        }
        if (bytes[digits] == '0' && offset - digits > 1) {
            throw new JsonException("a number with a leading zero", start);
        }
        if (offset < bytes.length && (bytes[offset] == '.' || bytes[offset] == 'e' || bytes[offset] == 'E')) {
            throw new JsonException("a number that is not an integer", start);
        }
        // Within a double's range (RFC 8259 §6): every integer of up to 308 digits is, none of 310
        // or more is (10^309 is beyond it), and one of 309 digits is parsed to see, so a long run
        // of digits costs no conversion.
        int count = offset - digits;
        if (count > 309) {
            throw new JsonException("an integer beyond a double's range", start);
        }
        String text = new String(bytes, start, offset - start, StandardCharsets.US_ASCII);
        if (text.equals("-0")) {
            throw new JsonException("-0 (a number that is not an integer)", start);
        }
        if (count == 309 && Double.isInfinite(Double.parseDouble(text))) {
            throw new JsonException("an integer beyond a double's range", start);
        }
        BigInteger value = new BigInteger(text);
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    private String string() throws JsonException {
        expect('"');
        StringBuilder text = new StringBuilder();
        int runStart = offset;
        while (true) {
            int at = offset;
            int c = peek();
            if (c == '"' || c == '\\') {
                text.append(new String(bytes, runStart, at - runStart, StandardCharsets.UTF_8));
                offset++;
                if (c == '"') {
                    return text.toString();
                }
                escape(text, at);
                runStart = offset;
            } else if (c < 0x20) {
                throw new JsonException("an unescaped control character in a string", at);
            } else {
                offset++;
            }
        }
    }

    private void escape(StringBuilder text, int at) throws JsonException {
        int c = peek();
        offset++;
        switch (c) {
            case '"' -> text.append('"');
            case '\\' -> text.append('\\');
            case '/' -> text.append('/');
            case 'b' -> text.append('\b');
            case 'f' -> text.append('\f');
            case 'n' -> text.append('\n');
            case 'r' -> text.append('\r');
            case 't' -> text.append('\t');
            case 'u' -> {
                char unit = hex4();
                if (Character.isHighSurrogate(unit)) {
                    if (offset + 1 < bytes.length && bytes[offset] == '\\' && bytes[offset + 1] == 'u') {
                        offset += 2;
                        char low = hex4();
                        if (!Character.isLowSurrogate(low)) {
                            throw new JsonException("an escaped lone surrogate", at);
                        }
                        text.append(unit).append(low);
                    } else {
                        throw new JsonException("an escaped lone surrogate", at);
                    }
                } else if (Character.isLowSurrogate(unit)) {
                    throw new JsonException("an escaped lone surrogate", at);
                } else {
                    text.append(unit);
                }
            }
            default -> throw new JsonException("an invalid escape", at);
        }
    }

    private char hex4() throws JsonException {
        if (offset + 4 > bytes.length) {
            throw new JsonException("a short \\u escape", offset);
        }
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int digit = Character.digit(bytes[offset + i], 16);
            if (digit < 0) {
                throw new JsonException("a \\u escape that is not hexadecimal", offset);
            }
            value = value << 4 | digit;
        }
        offset += 4;
        return (char) value;
    }

    /** Writes a value compactly as UTF-8 (no whitespace, members in the map's order). */
    public static byte[] encode(Object value) {
        StringBuilder text = new StringBuilder();
        write(text, value, 1);
        return ByteWriter.Utf8.strict(text.toString());
    }

    private static void write(StringBuilder text, Object value, int depth) {
        if (value == null) {
            text.append("null");
        } else if (value instanceof String string) {
            writeString(text, string);
        } else if (value instanceof BigInteger integer) {
            if (Double.isInfinite(integer.doubleValue())) {
                throw new IllegalArgumentException("strict JSON has no integer beyond a double's range");
            }
            text.append(integer);
        } else if (value instanceof Boolean || value instanceof Long || value instanceof Integer) {
            text.append(value);
        } else if (value instanceof Map<?, ?> map) {
            requireDepth(depth);
            text.append('{');
            Iterator<? extends Map.Entry<?, ?>> entries = map.entrySet().iterator();
            while (entries.hasNext()) {
                Map.Entry<?, ?> entry = entries.next();
                writeString(text, (String) entry.getKey());
                text.append(':');
                write(text, entry.getValue(), depth + 1);
                if (entries.hasNext()) {
                    text.append(',');
                }
            }
            text.append('}');
        } else if (value instanceof List<?> list) {
            requireDepth(depth);
            text.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    text.append(',');
                }
                write(text, list.get(i), depth + 1);
            }
            text.append(']');
        } else {
            throw new IllegalArgumentException("strict JSON has no " + value.getClass().getSimpleName()
                    + " (integers only: Long, Integer or BigInteger)");
        }
    }

    private static void requireDepth(int depth) {
        if (depth > MAXIMUM_DEPTH) {
            throw new IllegalArgumentException("more than " + MAXIMUM_DEPTH + " levels of nesting");
        }
    }

    private static void writeString(StringBuilder text, String value) {
        text.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                text.append('\\').append(c);
            } else if (c < 0x20) {
                text.append(String.format("\\u%04x", (int) c));
            } else {
                text.append(c);
            }
        }
        text.append('"');
    }
}
