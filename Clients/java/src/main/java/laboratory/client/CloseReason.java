package laboratory.client;

/** A server's {@code closing} message (PROTOCOL.md §10, §14): a code and a message for the user. */
public final class CloseReason {
    /** Close code 1: the session ended after the client's {@code bye}. */
    public static final int NORMAL = 1;
    /** Close code 2: protocol violation. */
    public static final int PROTOCOL_VIOLATION = 2;
    /** Close code 3: frame too large. */
    public static final int FRAME_TOO_LARGE = 3;
    /** Close code 4: decryption failed. */
    public static final int DECRYPTION_FAILED = 4;
    /** Close code 5: handshake timeout. */
    public static final int HANDSHAKE_TIMEOUT = 5;
    /** Close code 6: wrong password. */
    public static final int WRONG_PASSWORD = 6;
    /** Close code 7: invalid name, no attempt left. */
    public static final int INVALID_NAME = 7;
    /** Close code 8: plaintext not allowed. */
    public static final int PLAINTEXT_NOT_ALLOWED = 8;
    /** Close code 9: server stopping. */
    public static final int SERVER_STOPPING = 9;
    /** Close code 10: internal error. */
    public static final int INTERNAL_ERROR = 10;
    /** Close code 14: key exhausted. */
    public static final int KEY_EXHAUSTED = 14;
    /** Close code 15: refused at accept, or evicted. */
    public static final int REFUSED = 15;
    /** Close code 16: idle timeout. */
    public static final int IDLE_TIMEOUT = 16;
    /** Close code 17: kicked by the operator; final, do not reconnect automatically. */
    public static final int KICKED = 17;

    /** The close code (an open set: unknown codes are kept as they are). */
    public final int code;
    /** The server's message for the user (not filtered: neutralize control characters before showing it). */
    public final String message;
    /** For a code-15 refusal of a locked-out source, {@code retry_ms}; otherwise -1. */
    public final long retryMillis;

    /** A closing with the given fields; {@code retryMillis} is -1 when absent. */
    public CloseReason(int code, String message, long retryMillis) {
        this.code = code;
        this.message = message;
        this.retryMillis = retryMillis;
    }

    /** Speaks a duration the way a person reads it: {@code 4m 30s}, rounded up to seconds. */
    public static String spokenDuration(long millis) {
        long seconds = (millis + 999) / 1000;
        long hours = seconds / 3600;
        long minutes = seconds % 3600 / 60;
        long rest = seconds % 60;
        StringBuilder text = new StringBuilder();
        if (hours > 0) {
            text.append(hours).append("h ");
        }
        if (hours > 0 || minutes > 0) {
            text.append(minutes).append("m ");
        }
        return text.append(rest).append('s').toString();
    }

    @Override
    public String toString() {
        String text = "code " + code + ": " + message;
        return retryMillis >= 0 ? text + " (locked out for " + spokenDuration(retryMillis) + ")" : text;
    }
}
