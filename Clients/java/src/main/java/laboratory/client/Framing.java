package laboratory.client;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;

/** Frames (PROTOCOL.md §3): a {@code u32} payload length, then the payload. */
public final class Framing {
    /** The largest payload this client reads by default, as the reference client: 1 MiB. */
    public static final int DEFAULT_MAXIMUM_PAYLOAD = 1 << 20;
    /** The largest frame a client may send before {@code accepted}: 4 KiB. */
    public static final int HANDSHAKE_MAXIMUM_PAYLOAD = 4096;

    private Framing() {}

    /** The frame for a payload: its length prefix, then the payload. */
    public static byte[] encode(byte[] payload) {
        byte[] frame = new byte[4 + payload.length];
        int length = payload.length;
        frame[0] = (byte) (length >>> 24);
        frame[1] = (byte) (length >>> 16);
        frame[2] = (byte) (length >>> 8);
        frame[3] = (byte) length;
        System.arraycopy(payload, 0, frame, 4, length);
        return frame;
    }

    /**
     * Reads one frame's payload. The prefix is checked as soon as its four bytes arrive, before any
     * of the payload is read: a length over {@code maximum} is a protocol violation.
     *
     * @throws EOFException if the stream ends before a frame begins or in the middle of one
     */
    public static byte[] read(DataInputStream in, int maximum) throws IOException {
        long length = in.readInt() & 0xffffffffL;
        if (length > maximum) {
            throw ByteReader.violation("a frame of " + length + " bytes exceeds the maximum of " + maximum);
        }
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        return payload;
    }
}
