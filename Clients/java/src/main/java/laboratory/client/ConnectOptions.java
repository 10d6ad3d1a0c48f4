package laboratory.client;

/**
 * What {@link Session#connect} needs: the server, the credentials and the trust rule, plus
 * optional settings with the reference client's defaults (PROTOCOL.md §15).
 */
public final class ConnectOptions {
    /** Asks for another display name after the server rejected one (PROTOCOL.md §9). */
    public interface NameRetry {
        /** The next name to try, or {@code null} to give up. */
        String nextName(String reason, int attemptsLeft);
    }

    final String host;
    final int port;
    final String password;
    final String name;
    final ServerTrust trust;
    boolean plaintext;
    long clockSkewMillis = 600_000;
    int connectTimeoutMillis = 10_000;
    int handshakeTimeoutMillis = 30_000;
    int maximumPayload = Framing.DEFAULT_MAXIMUM_PAYLOAD;
    NameRetry nameRetry;
    SessionListener listener = new SessionListener() {};

    /** The server at {@code host:port}, the password, the display name and how to trust the server's key. */
    public ConnectOptions(String host, int port, String password, String name, ServerTrust trust) {
        this.host = host;
        this.port = port;
        this.password = password;
        this.name = name;
        this.trust = trust;
    }

    /** Receives events, the server's shutdown notice and the end of the session. */
    public ConnectOptions listener(SessionListener listener) {
        this.listener = listener;
        return this;
    }

    /** Asked for another name when the server rejects one; without it a rejection ends the handshake. */
    public ConnectOptions nameRetry(NameRetry nameRetry) {
        this.nameRetry = nameRetry;
        return this;
    }

    /** Ask for an unencrypted session: only if the user explicitly asked for one (unsafe, PROTOCOL.md §16). */
    public ConnectOptions plaintext(boolean plaintext) {
        this.plaintext = plaintext;
        return this;
    }

    /** How far apart the clocks may be for the transport key's validity window (default 10 minutes). */
    public ConnectOptions clockSkewMillis(long millis) {
        this.clockSkewMillis = millis;
        return this;
    }

    /** How long the TCP connect may take (default 10 s) and the whole handshake (default 30 s). */
    public ConnectOptions timeouts(int connectMillis, int handshakeMillis) {
        this.connectTimeoutMillis = connectMillis;
        this.handshakeTimeoutMillis = handshakeMillis;
        return this;
    }

    /** The largest frame payload this client reads (default 1 MiB). */
    public ConnectOptions maximumPayload(int bytes) {
        this.maximumPayload = bytes;
        return this;
    }
}
