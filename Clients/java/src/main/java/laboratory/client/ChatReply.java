package laboratory.client;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** A successful chat reply (PROTOCOL.md §17); fields that do not apply to the op are {@code null}. */
public final class ChatReply {
    /** A room member. */
    public static final class Member {
        /** The member's connection id. */
        public final long id;
        /** Its display name. */
        public final String name;

        Member(long id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    /** A room in a {@code rooms} page. */
    public static final class Room {
        /** The room's name. */
        public final String name;
        /** How many members it has. */
        public final long members;

        Room(String name, long members) {
            this.name = name;
            this.members = members;
        }
    }

    /** {@code join}, {@code who}: members (one page), sorted by id. */
    public final List<Member> members;
    /** {@code join}: the room's latest sequence number; {@code say}: the message's. */
    public final Long sequence;
    /** {@code join} with {@code after}: how many events were replayed. */
    public final Long replayed;
    /** {@code join} with {@code after}: the first event no longer held (lost), or {@code null}. */
    public final Long missedFrom;
    /** The last lost event, or {@code null}. */
    public final Long missedTo;
    /** {@code rooms}: one page of rooms, sorted by name. */
    public final List<Room> rooms;
    /** The cursor for the next page, or {@code null} on the last page. */
    public final String next;
    /** The whole reply, for fields this client does not know. */
    public final Map<String, Object> raw;

    private ChatReply(Map<String, Object> body) throws LaboratoryException {
        raw = Collections.unmodifiableMap(body);
        sequence = integer(body, "sequence", false);
        replayed = integer(body, "replayed", false);
        missedFrom = integer(body, "missedFrom", false);
        missedTo = integer(body, "missedTo", false);
        next = string(body, "next", false);
        members = list(body, "members", true);
        rooms = list(body, "rooms", false);
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Map<String, Object> body, String field, boolean membersList) throws LaboratoryException {
        Object value = body.get(field);
        if (value == null) {
            return null;
        }
        if (!(value instanceof List)) {
            throw ByteReader.violation("chat field " + field + " is not an array");
        }
        List<T> items = new ArrayList<>();
        for (Object item : (List<Object>) value) {
            if (!(item instanceof Map)) {
                throw ByteReader.violation("chat field " + field + " holds something other than objects");
            }
            Map<String, Object> entry = (Map<String, Object>) item;
            items.add((T) (membersList ? new Member(integer(entry, "id", true), string(entry, "name", true))
                    : new Room(string(entry, "name", true), integer(entry, "members", true))));
        }
        return Collections.unmodifiableList(items);
    }

    /** Parses a reply body; an empty body is the empty reply. */
    public static ChatReply parse(byte[] body) throws LaboratoryException {
        try {
            return new ChatReply(body.length == 0 ? new java.util.LinkedHashMap<>() : StrictJson.parseObject(body));
        } catch (StrictJson.JsonException error) {
            throw ByteReader.violation("a chat reply is not strict JSON: " + error.getMessage());
        }
    }

    static String string(Map<String, Object> body, String field, boolean required) throws LaboratoryException {
        Object value = body.get(field);
        if (value == null && !required) {
            return null;
        }
        if (!(value instanceof String)) {
            throw ByteReader.violation("chat field " + field + " is missing or not a string");
        }
        return (String) value;
    }

    static Long integer(Map<String, Object> body, String field, boolean required) throws LaboratoryException {
        Object value = body.get(field);
        if (value == null && !required) {
            return null;
        }
        if (value instanceof Long number) {
            return number;
        }
        if (value instanceof BigInteger) {
            throw ByteReader.violation("chat field " + field + " is beyond what this client counts to (2^63 - 1)");
        }
        throw ByteReader.violation("chat field " + field + " is missing or not an integer");
    }
}
