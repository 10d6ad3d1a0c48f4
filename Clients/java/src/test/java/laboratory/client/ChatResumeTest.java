package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The chat layer's memory of the last sequence number per room: duplicates are dropped, rooms and directs kept apart. */
class ChatResumeTest {
    private static ChatEvent event(String room, long sequence) throws LaboratoryException {
        String json = "{\"kind\":\"message\",\"room\":\"" + room + "\",\"sequence\":" + sequence
                + ",\"from\":1,\"name\":\"Ada\",\"text\":\"m" + sequence + "\",\"time\":0}";
        return ChatEvent.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void duplicatesAreDroppedPerRoom() throws Exception {
        List<String> seen = new ArrayList<>();
        Chat chat = new Chat(e -> seen.add(e.room + e.sequence), Map.of("lobby", 3L));
        for (long sequence : new long[] {2, 3, 4, 4, 5, 1}) {
            chat.receive(event("lobby", sequence));
        }
        chat.receive(event("other", 1));
        chat.receive(event("other", 1));
        chat.receive(ChatEvent.parse("{\"kind\":\"direct\",\"from\":2,\"name\":\"Bob\",\"text\":\"psst\",\"time\":0}"
                .getBytes(StandardCharsets.UTF_8)));
        assertEquals(List.of("lobby4", "lobby5", "other1", "nullnull"), seen);
        assertEquals(5, chat.droppedDuplicates());
        assertEquals(Map.of("lobby", 5L, "other", 1L), chat.lastSequences());
    }
}
