package laboratory.client;

/** Encoders for the client's messages (PROTOCOL.md §10, client to server). */
public final class ClientMessage {
    /** {@code password}. */
    public static final int PASSWORD = 0x81;
    /** {@code name}. */
    public static final int NAME = 0x82;
    /** {@code request}. */
    public static final int REQUEST = 0x90;
    /** {@code serverNameQuery}. */
    public static final int SERVER_NAME_QUERY = 0x92;
    /** {@code ping}. */
    public static final int PING = 0x93;
    /** {@code pong}. */
    public static final int PONG = 0x94;
    /** {@code bye}. */
    public static final int BYE = 0x95;
    /** {@code rename}. */
    public static final int RENAME = 0x96;
    /** {@code keyUpdate}. */
    public static final int KEY_UPDATE = 0x97;

    private ClientMessage() {}

    /** {@code password(password)}. */
    public static byte[] password(String password) {
        return new ByteWriter().u8(PASSWORD).string(password).toByteArray();
    }

    /** {@code name(name)}. */
    public static byte[] name(String name) {
        return new ByteWriter().u8(NAME).string(name).toByteArray();
    }

    /** {@code request(id, service, body)}. */
    public static byte[] request(long id, String service, byte[] body) {
        return new ByteWriter().u8(REQUEST).u64(id).string(service).bytes(body).toByteArray();
    }

    /** {@code serverNameQuery}. */
    public static byte[] serverNameQuery() {
        return new byte[] {(byte) SERVER_NAME_QUERY};
    }

    /** {@code ping(value)}. */
    public static byte[] ping(long value) {
        return new ByteWriter().u8(PING).u64(value).toByteArray();
    }

    /** {@code pong(value)}. */
    public static byte[] pong(long value) {
        return new ByteWriter().u8(PONG).u64(value).toByteArray();
    }

    /** {@code bye}. */
    public static byte[] bye() {
        return new byte[] {(byte) BYE};
    }

    /** {@code rename(requestId, name)}. */
    public static byte[] rename(long requestId, String name) {
        return new ByteWriter().u8(RENAME).u64(requestId).string(name).toByteArray();
    }

    /** {@code keyUpdate(secret, requestUpdate)}: 34 bytes with the type. */
    public static byte[] keyUpdate(byte[] secret, boolean requestUpdate) {
        if (secret.length != 32) {
            throw new IllegalArgumentException("a key update's secret is 32 bytes");
        }
        return new ByteWriter().u8(KEY_UPDATE).raw(secret).u8(requestUpdate ? 1 : 0).toByteArray();
    }
}
