package laboratory.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A message from the server (PROTOCOL.md §10), decoded strictly: an unknown type, a field past the
 * end, invalid UTF-8 or trailing bytes are a protocol violation. Each message is one subclass;
 * test with {@code instanceof}.
 */
public abstract class ServerMessage {
    ServerMessage() {}

    /** {@code passwordPrompt} (0x01). */
    public static final class PasswordPrompt extends ServerMessage {}

    /** {@code namePrompt} (0x02). */
    public static final class NamePrompt extends ServerMessage {}

    /** {@code accepted} (0x03): the session begins. */
    public static final class Accepted extends ServerMessage {
        /** The server's id for this connection (a {@code u64}). */
        public final long connectionId;
        /** The server's name. */
        public final String serverName;
        /** The services offered, in registration order. */
        public final List<String> services;

        Accepted(long connectionId, String serverName, List<String> services) {
            this.connectionId = connectionId;
            this.serverName = serverName;
            this.services = Collections.unmodifiableList(services);
        }
    }

    /** {@code closing} (0x04). */
    public static final class Closing extends ServerMessage {
        /** The code, message and, for a locked-out source, {@code retry_ms}. */
        public final CloseReason reason;

        Closing(CloseReason reason) {
            this.reason = reason;
        }
    }

    /** {@code response} (0x10), to a request or a rename. */
    public static final class Response extends ServerMessage {
        /** The id of the request or rename it answers. */
        public final long requestId;
        /** 0 for success (PROTOCOL.md §14). */
        public final int status;
        /** Empty on success. */
        public final String errorMessage;
        /** The service's answer. */
        public final byte[] body;

        Response(long requestId, int status, String errorMessage, byte[] body) {
            this.requestId = requestId;
            this.status = status;
            this.errorMessage = errorMessage;
            this.body = body;
        }
    }

    /** {@code event} (0x11), pushed by a service. */
    public static final class Event extends ServerMessage {
        /** The service that sent it. */
        public final String service;
        /** Its body. */
        public final byte[] body;

        Event(String service, byte[] body) {
            this.service = service;
            this.body = body;
        }
    }

    /** {@code serverName} (0x12). */
    public static final class ServerName extends ServerMessage {
        /** The server's name. */
        public final String name;

        ServerName(String name) {
            this.name = name;
        }
    }

    /** {@code ping} (0x13), which the client answers with {@code pong}. */
    public static final class Ping extends ServerMessage {
        /** The value to echo. */
        public final long value;

        Ping(long value) {
            this.value = value;
        }
    }

    /** {@code pong} (0x14), answering the client's ping. */
    public static final class Pong extends ServerMessage {
        /** The value of the client's ping. */
        public final long value;

        Pong(long value) {
            this.value = value;
        }
    }

    /** {@code serverStopping} (0x15). */
    public static final class ServerStopping extends ServerMessage {
        /** Milliseconds until the server closes this session. */
        public final long graceMillis;

        ServerStopping(long graceMillis) {
            this.graceMillis = graceMillis;
        }
    }

    /** {@code keyUpdate} (0x16): the server's direction changes key after this frame. */
    public static final class KeyUpdate extends ServerMessage {
        /** 32 fresh bytes. */
        public final byte[] secret;
        /** Whether the server asks the client to update its own direction in reply. */
        public final boolean requestUpdate;

        KeyUpdate(byte[] secret, boolean requestUpdate) {
            this.secret = secret;
            this.requestUpdate = requestUpdate;
        }
    }

    /** {@code nameRejected} (0x17), only while awaiting a name. */
    public static final class NameRejected extends ServerMessage {
        /** The rule the name broke. */
        public final String reason;
        /** How many names the server will still consider (at least 1). */
        public final int attemptsLeft;

        NameRejected(String reason, int attemptsLeft) {
            this.reason = reason;
            this.attemptsLeft = attemptsLeft;
        }
    }

    /** Decodes one opened payload. */
    public static ServerMessage decode(byte[] payload) throws LaboratoryException {
        ByteReader reader = new ByteReader(payload);
        int type = reader.u8("the message type");
        ServerMessage message;
        switch (type) {
            case 0x01 -> message = new PasswordPrompt();
            case 0x02 -> message = new NamePrompt();
            case 0x03 -> {
                long id = reader.u64("connection_id");
                String name = reader.string("server_name");
                int count = reader.u16("service_count");
                List<String> services = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    services.add(reader.string("service"));
                }
                message = new Accepted(id, name, services);
            }
            case 0x04 -> {
                int code = reader.u16("the close code");
                String text = reader.string("the closing message");
                long retry = -1;
                if (code == CloseReason.REFUSED && reader.remaining() == 4) {
                    retry = reader.u32("retry_ms");
                    if (retry == 0) {
                        throw ByteReader.violation("a retry_ms of 0");
                    }
                }
                message = new Closing(new CloseReason(code, text, retry));
            }
            case 0x10 -> message = new Response(reader.u64("request_id"), reader.u16("status"),
                    reader.string("error_message"), reader.bytes("body"));
            case 0x11 -> message = new Event(reader.string("service"), reader.bytes("body"));
            case 0x12 -> message = new ServerName(reader.string("name"));
            case 0x13 -> message = new Ping(reader.u64("value"));
            case 0x14 -> message = new Pong(reader.u64("value"));
            case 0x15 -> message = new ServerStopping(reader.u32("grace_ms"));
            case 0x16 -> {
                byte[] secret = reader.fixed(32, "the key update's secret");
                int flag = reader.u8("request_update");
                if (flag > 1) {
                    throw ByteReader.violation("a key update's request_update of " + flag);
                }
                message = new KeyUpdate(secret, flag == 1);
            }
            case 0x17 -> {
                String reason = reader.string("reason");
                int attempts = reader.u8("attempts_left");
                if (attempts < 1) {
                    throw ByteReader.violation("a nameRejected with no attempt left");
                }
                message = new NameRejected(reason, attempts);
            }
            default -> throw ByteReader.violation(String.format("unknown message type 0x%02x", type));
        }
        reader.finish("the message");
        return message;
    }
}
