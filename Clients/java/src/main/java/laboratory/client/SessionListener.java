package laboratory.client;

/**
 * Receives what the server pushes. Every method is called on the session's reader thread, one
 * call at a time, in the order the frames arrived: return quickly (hand work to your own executor,
 * or on Android post it to the main thread) because the session reads nothing more meanwhile.
 */
public interface SessionListener {
    /** An {@code event} from a service (the chat service's are JSON; see {@link Chat}). */
    default void onEvent(String service, byte[] body) {}

    /** The server is shutting down and closes this session in {@code graceMillis}. */
    default void onServerStopping(long graceMillis) {}

    /**
     * The session ended: {@code reason} says how (its {@link LaboratoryException#closeReason()} is
     * the server's {@code closing}, code 1 after this client's {@code bye}).
     */
    default void onClosed(LaboratoryException reason) {}
}
