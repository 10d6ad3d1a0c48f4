package laboratory.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The chat service (PROTOCOL.md §17) over a {@link Session}, with resumable history: it remembers
 * the last sequence number it delivered per room, joins with {@code after} set to it (so a new
 * session after a reconnect gets what it missed), drops events it has already delivered, and
 * reports lost events ({@code missedFrom}..{@code missedTo}) and a restarted numbering (a reply
 * {@code sequence} not above {@code after}).
 *
 * <pre>{@code
 * Chat chat = new Chat(listener);                 // or new Chat(listener, old.lastSequences())
 * Session session = Session.connect(options.listener(chat.sessionListener(null)));
 * chat.attach(session);
 * chat.join("lobby");
 * chat.say("lobby", "hello");
 * }</pre>
 *
 * The listener is called on the session's reader thread, or on the thread whose {@link #join}
 * releases the events that arrived with its replay; calls never overlap and come in sequence order
 * per room.
 */
public final class Chat {
    /** The service's name. */
    public static final String SERVICE = "chat";

    /** Receives chat events and what resuming found. */
    public interface Listener {
        /** A chat event, never one already delivered. */
        void onEvent(ChatEvent event);

        /** Events {@code from}..{@code to} of {@code room} are no longer held: lost to this client. */
        default void onMissed(String room, long from, long to) {}

        /** The room's numbering restarted (a new server run): earlier sequence numbers mean nothing now. */
        default void onNumberingRestarted(String room) {}
    }

    private final Listener listener;
    private final Map<String, Long> lastSeen = new HashMap<>();
    private final Map<String, List<ChatEvent>> joining = new HashMap<>();
    private final java.util.Set<String> member = new java.util.HashSet<>();
    private Session session;
    private long dropped;

    /** Chat with no history yet. */
    public Chat(Listener listener) {
        this(listener, new HashMap<>());
    }

    /** Chat resuming from the last sequence numbers of an earlier {@link #lastSequences()}. */
    public Chat(Listener listener, Map<String, Long> lastSequences) {
        this.listener = listener;
        lastSeen.putAll(lastSequences);
    }

    /** The session to send requests on (connect with {@link #sessionListener} first). */
    public void attach(Session session) {
        this.session = session;
    }

    /** A session listener that hands chat events to this object and everything else to {@code next} (may be null). */
    public SessionListener sessionListener(SessionListener next) {
        SessionListener others = next != null ? next : new SessionListener() {};
        return new SessionListener() {
            @Override
            public void onEvent(String service, byte[] body) {
                if (!SERVICE.equals(service)) {
                    others.onEvent(service, body);
                    return;
                }
                try {
                    receive(ChatEvent.parse(body));
                } catch (LaboratoryException malformed) {
                    others.onEvent(service, body);
                }
            }

            @Override
            public void onServerStopping(long graceMillis) {
                others.onServerStopping(graceMillis);
            }

            @Override
            public void onClosed(LaboratoryException reason) {
                others.onClosed(reason);
            }
        };
    }

    /** The last sequence number delivered per room, to resume with in a later session. */
    public synchronized Map<String, Long> lastSequences() {
        return new HashMap<>(lastSeen);
    }

    /** How many events were dropped because they had been delivered already. */
    public synchronized long droppedDuplicates() {
        return dropped;
    }

    synchronized void receive(ChatEvent event) {
        if (event.room == null) {
            listener.onEvent(event);
            return;
        }
        List<ChatEvent> held = joining.get(event.room);
        if (held != null) {
            held.add(event);
            return;
        }
        deliver(event);
    }

    private void deliver(ChatEvent event) {
        Long last = lastSeen.get(event.room);
        if (last != null && event.sequence <= last) {
            dropped++;
            return;
        }
        lastSeen.put(event.room, event.sequence);
        listener.onEvent(event);
    }

    private ChatReply call(String op, Map<String, Object> fields) throws LaboratoryException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("op", op);
        body.putAll(fields);
        return ChatReply.parse(session.request(SERVICE, StrictJson.encode(body)));
    }

    /**
     * Joins a room, resuming after the last event delivered from it if there was one. Joining a
     * room this session is already in changes nothing (and replays nothing).
     */
    public ChatReply join(String room) throws LaboratoryException {
        Long after;
        synchronized (this) {
            after = member.contains(room) ? null : lastSeen.get(room);
        }
        return join(room, after);
    }

    /**
     * Joins a room; with {@code after}, the server first replays its held events numbered above
     * it. Reports lost events and a restarted numbering to the listener.
     */
    public ChatReply join(String room, Long after) throws LaboratoryException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("room", room);
        if (after != null) {
            fields.put("after", after);
            synchronized (this) {
                joining.put(room, new ArrayList<>());
            }
        }
        ChatReply reply = null;
        try {
            reply = call("join", fields);
            synchronized (this) {
                member.add(room);
            }
            return reply;
        } finally {
            if (after != null) {
                release(room, after, reply);
            }
        }
    }

    private synchronized void release(String room, long after, ChatReply reply) {
        List<ChatEvent> held = joining.remove(room);
        // A join by a non-member always adds its own joined event above every earlier number,
        // unless the numbering restarted (a new server run).
        boolean wasMember = reply != null && reply.replayed == null;
        if (reply != null && !wasMember && reply.sequence != null && reply.sequence <= after) {
            lastSeen.remove(room);
            listener.onNumberingRestarted(room);
        } else if (reply != null && reply.missedFrom != null && reply.missedTo != null) {
            listener.onMissed(room, reply.missedFrom, reply.missedTo);
        }
        for (ChatEvent event : held) {
            deliver(event);
        }
    }

    /** Leaves a room (its last sequence number is kept, so joining again resumes). */
    public void leave(String room) throws LaboratoryException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("room", room);
        call("leave", fields);
        synchronized (this) {
            member.remove(room);
        }
    }

    /** Says {@code text} in a room; returns the message's sequence number. */
    public long say(String room, String text) throws LaboratoryException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("room", room);
        fields.put("text", text);
        Long sequence = call("say", fields).sequence;
        if (sequence == null) {
            throw ByteReader.violation("a say reply without a sequence number");
        }
        return sequence;
    }

    /** Sends a direct message to a connection. */
    public void direct(long to, String text) throws LaboratoryException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("to", to);
        fields.put("text", text);
        call("direct", fields);
    }

    /** One page of rooms; pass the reply's {@code next} as {@code after} for the next (both may be null). */
    public ChatReply rooms(String after, Integer limit) throws LaboratoryException {
        Map<String, Object> fields = new LinkedHashMap<>();
        if (after != null) {
            fields.put("after", after);
        }
        if (limit != null) {
            fields.put("limit", limit);
        }
        return call("rooms", fields);
    }

    /** One page of a room's members, as {@link #rooms}. */
    public ChatReply who(String room, String after, Integer limit) throws LaboratoryException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("room", room);
        if (after != null) {
            fields.put("after", after);
        }
        if (limit != null) {
            fields.put("limit", limit);
        }
        return call("who", fields);
    }
}
