package laboratory.client;

import java.io.IOException;

/**
 * Every failure this library reports: what kind it is, and, where the server said why, its
 * {@link CloseReason}. New kinds may be added; switch on {@link #kind()} with a default branch.
 */
public class LaboratoryException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The kinds of failure. */
    public enum Kind {
        /** The peer sent something malformed or out of order (PROTOCOL.md §2, §10). */
        PROTOCOL_VIOLATION,
        /** The transport key's certificate is not valid: bad signature, outside its window, unusable key. */
        BAD_CERTIFICATE,
        /** The server's identity key is not the one this client trusts. Nothing was sent. */
        UNTRUSTED_KEY,
        /** A sealed frame did not authenticate (tampered, replayed, other keys). */
        DECRYPTION_FAILED,
        /** The server sent {@code closing}; see {@link #closeReason()}. */
        CLOSED_BY_SERVER,
        /** The server rejected the display name and no other name was offered. */
        NAME_REJECTED,
        /** A request was answered with a status other than 0; see {@link RequestException}. */
        REQUEST_FAILED,
        /** The connection ended (TCP closed, timed out) without a {@code closing}. */
        CONNECTION_LOST,
        /** The session was closed by this side. */
        CLOSED_LOCALLY
    }

    private final Kind kind;
    private final transient CloseReason closeReason;

    /** A failure of this kind, in words. */
    public LaboratoryException(Kind kind, String message) {
        this(kind, message, null, null);
    }

    /** A failure with the server's {@code closing}, or a cause, or both. */
    public LaboratoryException(Kind kind, String message, CloseReason closeReason, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.closeReason = closeReason;
    }

    /** What kind of failure this is. */
    public Kind kind() {
        return kind;
    }

    /** The server's {@code closing}, when it sent one; else {@code null}. */
    public CloseReason closeReason() {
        return closeReason;
    }

    /**
     * For a refusal of a locked-out source (close code 15 with {@code retry_ms}, PROTOCOL.md §9):
     * the milliseconds before connecting again can succeed; otherwise -1.
     */
    public long retryAfterMillis() {
        return closeReason == null ? -1 : closeReason.retryMillis;
    }
}
