package laboratory.client;

import java.util.Map;

/**
 * A chat event (PROTOCOL.md §17): {@code message}, {@code joined}, {@code left}, {@code renamed}
 * or {@code direct}. Fields that do not apply are {@code null} ({@code sequence} and {@code room}
 * for a direct message, {@code text} for presence events). Text is not filtered: neutralize
 * control characters before showing it.
 */
public final class ChatEvent {
    /** {@code message}, {@code joined}, {@code left}, {@code renamed}, {@code direct}, or a kind this client does not know. */
    public final String kind;
    /** The room, or {@code null} for a direct message. */
    public final String room;
    /** The room's sequence number of this event, or {@code null} for a direct message. */
    public final Long sequence;
    /** The connection id of whoever caused it. */
    public final long from;
    /** Their display name (for {@code renamed}, the new one). */
    public final String name;
    /** For {@code renamed}, the previous name; else {@code null}. */
    public final String oldName;
    /** For {@code message} and {@code direct}, the text; else {@code null}. */
    public final String text;
    /** The server's clock, milliseconds since 1970. */
    public final long time;

    private ChatEvent(Map<String, Object> body) throws LaboratoryException {
        kind = ChatReply.string(body, "kind", true);
        room = ChatReply.string(body, "room", false);
        sequence = ChatReply.integer(body, "sequence", false);
        from = ChatReply.integer(body, "from", true);
        name = ChatReply.string(body, "name", true);
        oldName = ChatReply.string(body, "oldName", false);
        text = ChatReply.string(body, "text", false);
        Long at = ChatReply.integer(body, "time", false);
        time = at == null ? 0 : at;
        if (room != null && sequence == null) {
            throw ByteReader.violation("a chat event in a room without a sequence number");
        }
    }

    /** Parses an event body (strict JSON). */
    public static ChatEvent parse(byte[] body) throws LaboratoryException {
        try {
            return new ChatEvent(StrictJson.parseObject(body));
        } catch (StrictJson.JsonException error) {
            throw ByteReader.violation("a chat event is not strict JSON: " + error.getMessage());
        }
    }

    @Override
    public String toString() {
        return kind + (room == null ? "" : " " + room + "#" + sequence) + " from " + from + " (" + name + ")"
                + (text == null ? "" : ": " + text);
    }
}
