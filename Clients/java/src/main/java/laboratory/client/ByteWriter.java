package laboratory.client;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes the protocol's fields (PROTOCOL.md §2), big-endian. */
final class ByteWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ByteWriter u8(int value) {
        out.write(value);
        return this;
    }

    ByteWriter u16(int value) {
        out.write(value >>> 8);
        out.write(value);
        return this;
    }

    ByteWriter u32(long value) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            out.write((int) (value >>> shift));
        }
        return this;
    }

    ByteWriter u64(long value) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.write((int) (value >>> shift));
        }
        return this;
    }

    ByteWriter raw(byte[] bytes) {
        out.write(bytes, 0, bytes.length);
        return this;
    }

    /**
     * A {@code string}: text longer than 65,535 bytes of UTF-8 is cut to its longest prefix that
     * fits and ends on a code point boundary (PROTOCOL.md §2, "Long text").
     */
    ByteWriter string(String text) {
        byte[] bytes = Utf8.strict(text);
        int length = bytes.length;
        if (length > 0xffff) {
            length = 0xffff;
            while (length > 0 && (bytes[length] & 0xc0) == 0x80) {
                length--;
            }
        }
        u16(length);
        out.write(bytes, 0, length);
        return this;
    }

    ByteWriter bytes(byte[] bytes) {
        u32(bytes.length);
        return raw(bytes);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    /** Strict UTF-8 encoding of Java strings. */
    static final class Utf8 {
        private Utf8() {}

        /** The UTF-8 bytes of {@code text}; a lone surrogate (not encodable) is refused. */
        static byte[] strict(String text) {
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (Character.isHighSurrogate(c) && i + 1 < text.length()
                        && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else if (Character.isSurrogate(c)) {
                    throw new IllegalArgumentException("text with a lone surrogate at index " + i + " is not valid UTF-8");
                }
            }
            return text.getBytes(StandardCharsets.UTF_8);
        }
    }
}
