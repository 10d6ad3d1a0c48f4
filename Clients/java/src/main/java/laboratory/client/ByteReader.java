package laboratory.client;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the protocol's fields (PROTOCOL.md §2) from one payload, strictly: a field that runs past
 * the end, a {@code string} that is not valid UTF-8, or bytes left after the last field are a
 * protocol violation.
 */
final class ByteReader {
    private final byte[] bytes;
    private int offset;

    ByteReader(byte[] bytes) {
        this.bytes = bytes;
    }

    int remaining() {
        return bytes.length - offset;
    }

    private void need(int count, String field) throws LaboratoryException {
        if (count < 0 || remaining() < count) {
            throw violation(field + " runs past the end of the message");
        }
    }

    int u8(String field) throws LaboratoryException {
        need(1, field);
        return bytes[offset++] & 0xff;
    }

    int u16(String field) throws LaboratoryException {
        need(2, field);
        int value = (bytes[offset] & 0xff) << 8 | bytes[offset + 1] & 0xff;
        offset += 2;
        return value;
    }

    long u32(String field) throws LaboratoryException {
        need(4, field);
        long value = 0;
        for (int i = 0; i < 4; i++) {
            value = value << 8 | bytes[offset++] & 0xff;
        }
        return value;
    }

    /** A {@code u64}, as Java's signed long with the same bits (compare with {@link Long#compareUnsigned}). */
    long u64(String field) throws LaboratoryException {
        need(8, field);
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = value << 8 | bytes[offset++] & 0xff;
        }
        return value;
    }

    byte[] fixed(int count, String field) throws LaboratoryException {
        need(count, field);
        byte[] value = Arrays.copyOfRange(bytes, offset, offset + count);
        offset += count;
        return value;
    }

    String string(String field) throws LaboratoryException {
        byte[] raw = fixed(u16(field), field);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException error) {
            throw violation(field + " is not valid UTF-8");
        }
    }

    byte[] bytes(String field) throws LaboratoryException {
        long length = u32(field);
        if (length > remaining()) {
            throw violation(field + " runs past the end of the message");
        }
        return fixed((int) length, field);
    }

    void finish(String message) throws LaboratoryException {
        if (remaining() != 0) {
            throw violation(message + " has " + remaining() + " trailing bytes");
        }
    }

    static LaboratoryException violation(String message) {
        return new LaboratoryException(LaboratoryException.Kind.PROTOCOL_VIOLATION, message);
    }
}
