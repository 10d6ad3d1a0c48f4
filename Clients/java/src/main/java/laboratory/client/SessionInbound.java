package laboratory.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What an accepted session does with each message the server sends (PROTOCOL.md §8, §12), as a
 * pure state machine: the {@link Session}'s reader thread opens each frame, decodes it, hands it
 * here, and carries out the returned actions in order. Handshake messages after acceptance, a key
 * update in a plaintext session, and anything after {@code closing} are protocol violations.
 */
final class SessionInbound {
    /** Something the reader must do. */
    abstract static class Action {
        Action() {}
    }

    /** Answer the server's ping. */
    static final class SendPong extends Action {
        final long value;

        SendPong(long value) {
            this.value = value;
        }
    }

    /** Switch the opener to the key the server's update derives, before opening the next frame. */
    static final class UpdateOpener extends Action {
        final byte[] secret;

        UpdateOpener(byte[] secret) {
            this.secret = secret;
        }
    }

    /** Update the client's own direction, with {@code request_update = 0} (the answer to a request). */
    static final class AnswerKeyUpdate extends Action {}

    /** Hand a response, event, server name, pong or serverStopping to whoever waits for it. */
    static final class Deliver extends Action {
        final ServerMessage message;

        Deliver(ServerMessage message) {
            this.message = message;
        }
    }

    /** The server closed the session; read nothing more and close the socket. */
    static final class Closed extends Action {
        final CloseReason reason;

        Closed(CloseReason reason) {
            this.reason = reason;
        }
    }

    private final boolean encrypted;
    private boolean closed;

    SessionInbound(boolean encrypted) {
        this.encrypted = encrypted;
    }

    List<Action> receive(ServerMessage message) throws LaboratoryException {
        if (closed) {
            throw ByteReader.violation("a message after closing");
        }
        if (message instanceof ServerMessage.Ping ping) {
            return one(new SendPong(ping.value));
        }
        if (message instanceof ServerMessage.KeyUpdate update) {
            if (!encrypted) {
                throw ByteReader.violation("a key update in a plaintext session");
            }
            List<Action> actions = new ArrayList<>(2);
            actions.add(new UpdateOpener(update.secret));
            if (update.requestUpdate) {
                actions.add(new AnswerKeyUpdate());
            }
            return actions;
        }
        if (message instanceof ServerMessage.Closing closing) {
            closed = true;
            return one(new Closed(closing.reason));
        }
        if (message instanceof ServerMessage.Response || message instanceof ServerMessage.Event
                || message instanceof ServerMessage.ServerName || message instanceof ServerMessage.Pong
                || message instanceof ServerMessage.ServerStopping) {
            return one(new Deliver(message));
        }
        throw ByteReader.violation("a handshake message (" + message.getClass().getSimpleName() + ") in the session");
    }

    private static List<Action> one(Action action) {
        return Collections.singletonList(action);
    }
}
