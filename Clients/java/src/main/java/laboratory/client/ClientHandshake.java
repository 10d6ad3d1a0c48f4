package laboratory.client;

import java.security.GeneralSecurityException;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.List;

/**
 * The client side of the v1 handshake (PROTOCOL.md §4 to §9) as a pure state machine, the mirror
 * of the Swift client's {@code ClientHandshake}: it performs no I/O. Each input returns the
 * {@link Action}s the connection carries out, in order; a failure throws a
 * {@link HandshakeException} naming the step (the machine is then {@link State#FAILED}).
 *
 * <p>{@code AWAITING_HELLO → AWAITING_TRUST → AWAITING_PASSWORD_PROMPT → AWAITING_NAME_PROMPT →
 * AWAITING_ACCEPTANCE → ACCEPTED}, plus {@code AWAITING_NEW_NAME} after a {@code nameRejected}.
 * The connection owns the socket and the record layer: it opens each frame with the keys of the
 * last {@link InstallKeys} and hands the machine the decoded message, or the raw payload of a
 * frame that did not open ({@link #receiveUnopenable}).
 */
public final class ClientHandshake {
    /** The phase the handshake is in. */
    public enum State {
        AWAITING_HELLO, AWAITING_TRUST, AWAITING_PASSWORD_PROMPT, AWAITING_NAME_PROMPT, AWAITING_ACCEPTANCE,
        AWAITING_NEW_NAME, ACCEPTED, FAILED
    }

    /** The step a failure happened in. */
    public enum Step {
        HELLO, KEY_EXCHANGE, PASSWORD, NAME
    }

    /** Something the connection must do. */
    public abstract static class Action {
        Action() {}
    }

    /** Decide whether the identity key with this fingerprint is the server's, then call {@link #trustDecided}. */
    public static final class CheckTrust extends Action {
        /** The identity key's fingerprint. */
        public final String fingerprint;

        CheckTrust(String fingerprint) {
            this.fingerprint = fingerprint;
        }
    }

    /** Send this payload as a plaintext frame (the key exchange). */
    public static final class SendPlaintext extends Action {
        /** The payload. */
        public final byte[] payload;

        SendPlaintext(byte[] payload) {
            this.payload = payload;
        }
    }

    /** From now on seal with the client-to-server keys and open with the server-to-client ones. */
    public static final class InstallKeys extends Action {
        /** The derived keys. */
        public final SessionKeys keys;

        InstallKeys(SessionKeys keys) {
            this.keys = keys;
        }
    }

    /** Send this message (sealed if keys are installed). */
    public static final class Send extends Action {
        /** The encoded message. */
        public final byte[] message;

        Send(byte[] message) {
            this.message = message;
        }
    }

    /** The server accepted the client: the session begins. */
    public static final class Accepted extends Action {
        /** The server's {@code accepted}. */
        public final ServerMessage.Accepted acceptance;

        Accepted(ServerMessage.Accepted acceptance) {
            this.acceptance = acceptance;
        }
    }

    /** The server rejected the name and takes another: call {@link #retryName} or {@link #giveUpName}. */
    public static final class NameRejected extends Action {
        /** The server's {@code nameRejected}. */
        public final ServerMessage.NameRejected rejection;

        NameRejected(ServerMessage.NameRejected rejection) {
            this.rejection = rejection;
        }
    }

    private final String password;
    private final String name;
    private final boolean plaintext;
    private final long clockSkewMillis;
    private State state = State.AWAITING_HELLO;
    private ServerHello hello;
    private RSAPublicKey transportKey;
    private ServerMessage.NameRejected rejection;

    /**
     * A machine for one connection.
     *
     * @param plaintext ask for an unencrypted session (only when the user explicitly asked)
     * @param clockSkewMillis how far apart the clocks may be for the validity window (10 minutes in
     *     the reference client)
     */
    public ClientHandshake(String password, String name, boolean plaintext, long clockSkewMillis) {
        this.password = password;
        this.name = name;
        this.plaintext = plaintext;
        this.clockSkewMillis = clockSkewMillis;
    }

    /** The current state. */
    public State state() {
        return state;
    }

    /** The hello, once received. */
    public ServerHello hello() {
        return hello;
    }

    /** The step the handshake is at, for errors. */
    public Step step() {
        return switch (state) {
            case AWAITING_HELLO, AWAITING_TRUST -> Step.HELLO;
            case AWAITING_PASSWORD_PROMPT -> Step.KEY_EXCHANGE;
            case AWAITING_NAME_PROMPT -> Step.PASSWORD;
            default -> Step.NAME;
        };
    }

    /**
     * The server's first frame: a hello (checked: form, certificate signature by the identity key,
     * validity window with the tolerance, key sizes), or a {@code closing} refusing the connection.
     *
     * @param nowMillis the client's clock, milliseconds since 1970
     */
    public List<Action> receiveHello(byte[] payload, long nowMillis) throws HandshakeException {
        if (state != State.AWAITING_HELLO) {
            throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, "a second hello", null);
        }
        if (payload.length > 0 && payload[0] == 0x04) {
            CloseReason reason = closingIn(payload);
            if (reason != null) {
                throw fail(LaboratoryException.Kind.CLOSED_BY_SERVER, "the server refused: " + reason.message, reason);
            }
        }
        ServerHello parsed;
        try {
            parsed = ServerHello.parse(payload);
        } catch (LaboratoryException error) {
            throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, error.getMessage(), null);
        }
        RSAPublicKey identity;
        try {
            identity = RsaKeys.load(parsed.identitySpki);
        } catch (GeneralSecurityException | ClassCastException error) {
            throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, "the server's identity key is unusable: " + error.getMessage(), null);
        }
        if (!RsaKeys.verifyPss(identity, parsed.certificateBytes(), parsed.signature)) {
            throw fail(LaboratoryException.Kind.BAD_CERTIFICATE, "the transport key's signature does not verify", null);
        }
        checkWindow(parsed.notBefore, parsed.notAfter, nowMillis);
        try {
            transportKey = RsaKeys.load(parsed.transportSpki);
        } catch (GeneralSecurityException | ClassCastException error) {
            throw fail(LaboratoryException.Kind.BAD_CERTIFICATE, "the transport key is unusable: " + error.getMessage(), null);
        }
        hello = parsed;
        state = State.AWAITING_TRUST;
        return Arrays.asList(new CheckTrust(Fingerprint.of(parsed.identitySpki)));
    }

    private void checkWindow(long notBefore, long notAfter, long now) throws HandshakeException {
        // u64 values: anything at or past 2^63 ms is no date a real server certifies.
        if (notBefore < 0 || notAfter < 0 || notBefore > notAfter) {
            throw fail(LaboratoryException.Kind.BAD_CERTIFICATE, "the transport key's validity window is malformed", null);
        }
        if (now < notBefore - clockSkewMillis || now - clockSkewMillis > notAfter) {
            throw fail(LaboratoryException.Kind.BAD_CERTIFICATE,
                    "the transport key is not valid now (check this device's clock)", null);
        }
    }

    /**
     * The caller's trust decision: {@code null} if the identity key is trusted, otherwise why not.
     *
     * @param secret 32 fresh random bytes for the key exchange (injected so tests are exact)
     */
    public List<Action> trustDecided(String mismatch, byte[] secret) throws HandshakeException {
        if (state != State.AWAITING_TRUST) {
            throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, "a trust decision without a hello to decide on", null);
        }
        if (mismatch != null) {
            throw fail(LaboratoryException.Kind.UNTRUSTED_KEY, mismatch, null);
        }
        state = State.AWAITING_PASSWORD_PROMPT;
        if (plaintext) {
            return Arrays.asList(new SendPlaintext(new byte[0]));
        }
        SessionKeys keys = SessionKeys.derive(secret, hello.serverRandom, hello.payload);
        byte[] exchange;
        try {
            exchange = RsaKeys.encryptOaep(transportKey, secret);
        } catch (GeneralSecurityException error) {
            throw fail(LaboratoryException.Kind.BAD_CERTIFICATE, "could not encrypt to the transport key: " + error, null);
        }
        return Arrays.asList(new SendPlaintext(exchange), new InstallKeys(keys));
    }

    /** An opened message from the server during the handshake. */
    public List<Action> receive(ServerMessage message) throws HandshakeException {
        if (state == State.AWAITING_HELLO || state == State.AWAITING_TRUST || state == State.ACCEPTED
                || state == State.FAILED || state == State.AWAITING_NEW_NAME) {
            throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, "a message from the server out of turn", null);
        }
        if (message instanceof ServerMessage.Closing closing) {
            throw fail(LaboratoryException.Kind.CLOSED_BY_SERVER, "the server refused: " + closing.reason.message, closing.reason);
        }
        if (state == State.AWAITING_PASSWORD_PROMPT && message instanceof ServerMessage.PasswordPrompt) {
            state = State.AWAITING_NAME_PROMPT;
            return Arrays.asList(new Send(ClientMessage.password(password)));
        }
        if (state == State.AWAITING_NAME_PROMPT && message instanceof ServerMessage.NamePrompt) {
            state = State.AWAITING_ACCEPTANCE;
            return Arrays.asList(new Send(ClientMessage.name(name)));
        }
        if (state == State.AWAITING_ACCEPTANCE && message instanceof ServerMessage.Accepted accepted) {
            state = State.ACCEPTED;
            return Arrays.asList(new Accepted(accepted));
        }
        if (state == State.AWAITING_ACCEPTANCE && message instanceof ServerMessage.NameRejected rejected) {
            state = State.AWAITING_NEW_NAME;
            rejection = rejected;
            return Arrays.asList(new NameRejected(rejected));
        }
        throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION,
                "unexpected " + message.getClass().getSimpleName() + " from the server", null);
    }

    /** The caller's next name after {@link NameRejected}: one {@code name} per rejection. */
    public List<Action> retryName(String newName) throws HandshakeException {
        if (state != State.AWAITING_NEW_NAME) {
            throw fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, "a new name without a rejected one", null);
        }
        state = State.AWAITING_ACCEPTANCE;
        return Arrays.asList(new Send(ClientMessage.name(newName)));
    }

    /** The caller has no other name: the handshake fails with the server's reason. Always throws. */
    public HandshakeException giveUpName() {
        if (state != State.AWAITING_NEW_NAME) {
            return fail(LaboratoryException.Kind.PROTOCOL_VIOLATION, "giving up a name without a rejected one", null);
        }
        return fail(LaboratoryException.Kind.NAME_REJECTED, "the server rejected the name: " + rejection.reason, null);
    }

    /**
     * A frame that did not open with the session keys. While the key exchange awaits its prompt,
     * the server may still close in plaintext (PROTOCOL.md §12), so a plaintext {@code closing}
     * then is its (unauthenticated) reason; anything else is a decryption failure.
     */
    public HandshakeException receiveUnopenable(byte[] payload) {
        if (state == State.AWAITING_PASSWORD_PROMPT) {
            CloseReason reason = closingIn(payload);
            if (reason != null) {
                return fail(LaboratoryException.Kind.CLOSED_BY_SERVER, "the server refused: " + reason.message, reason);
            }
        }
        return fail(LaboratoryException.Kind.DECRYPTION_FAILED, "a frame from the server did not authenticate", null);
    }

    private static CloseReason closingIn(byte[] payload) {
        try {
            ServerMessage message = ServerMessage.decode(payload);
            return message instanceof ServerMessage.Closing closing ? closing.reason : null;
        } catch (LaboratoryException error) {
            return null;
        }
    }

    private HandshakeException fail(LaboratoryException.Kind kind, String message, CloseReason reason) {
        HandshakeException failure = new HandshakeException(kind, step(), message, reason);
        state = State.FAILED;
        return failure;
    }

    /** Why the handshake failed, and at which step. Nothing more is sent after a failure. */
    public static final class HandshakeException extends LaboratoryException {
        private static final long serialVersionUID = 1L;
        /** The step it failed at. */
        public final Step step;

        HandshakeException(Kind kind, Step step, String message, CloseReason reason) {
            super(kind, step.name().toLowerCase(java.util.Locale.ROOT) + ": " + message, reason, null);
            this.step = step;
        }
    }
}
