package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The known-hosts format on the cases the Swift and Python tests share (Clients/python/tests/known_hosts_cases.json). */
class KnownHostsTest {
    @TempDir
    Path folder;

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cases() throws Exception {
        return StrictJson.parseObject(Files.readAllBytes(ProtocolDocument.repository().resolve("Clients/python/tests/known_hosts_cases.json")));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(String name) throws Exception {
        return (List<Map<String, Object>>) cases().get(name);
    }

    private Path caseFile() throws Exception {
        Path path = folder.resolve("known_hosts");
        Files.write(path, ((String) cases().get("file")).getBytes(StandardCharsets.UTF_8));
        return path;
    }

    @Test
    void endpointKeys() throws Exception {
        List<Map<String, Object>> endpoints = list("endpoints");
        assertFalse(endpoints.isEmpty());
        for (Map<String, Object> entry : endpoints) {
            assertEquals(entry.get("key"), KnownHosts.endpoint((String) entry.get("host"), ((Long) entry.get("port")).intValue()), entry.toString());
        }
    }

    @Test
    void lookups() throws Exception {
        KnownHosts file = new KnownHosts(caseFile());
        List<Map<String, Object>> lookups = list("lookups");
        assertTrue(lookups.size() >= 16);
        for (Map<String, Object> entry : lookups) {
            assertEquals(entry.get("fingerprint"), file.lookup((String) entry.get("host"), ((Long) entry.get("port")).intValue()),
                    entry.toString());
        }
    }

    @Test
    void addKeepsCommentsAndMalformedLinesAndReplacesTheEntry() throws Exception {
        Path path = caseFile();
        KnownHosts file = new KnownHosts(path);
        file.add("HOST.example", 1, "SHA256:replaced");
        file.add("::1", 12800, "SHA256:new");
        String text = new String(Files.readAllBytes(path), StandardCharsets.UTF_8);
        assertEquals("SHA256:replaced", new KnownHosts(path).lookup("host.example", 1));
        assertFalse(text.contains("SHA256:one\n"));
        assertFalse(text.contains("second-entry-ignored"));
        assertTrue(text.contains("# a comment\n"));
        assertTrue(text.contains("malformed-no-port SHA256:x\n"));
        assertTrue(text.startsWith("\ufeffbom.example:11 SHA256:bom\n"), "the byte-order mark stays part of the first line");
        assertTrue(text.endsWith("host.example:1 SHA256:replaced\n[::1]:12800 SHA256:new\n"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
    }

    @Test
    void trustOnFirstUseRecordsAndThenRefusesAnotherKey() throws Exception {
        Path path = folder.resolve("sub/known_hosts");
        String key = "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q";
        assertNotNull(ServerTrust.knownHosts(new KnownHosts(path), false).check("Example.org", 12800, key), "unknown, not accepted");
        assertNull(ServerTrust.knownHosts(new KnownHosts(path), true).check("Example.org", 12800, key));
        assertEquals("example.org:12800 " + key + "\n", new String(Files.readAllBytes(path), StandardCharsets.UTF_8));
        String other = "SHA256:" + "A".repeat(43);
        String mismatch = ServerTrust.knownHosts(new KnownHosts(path), true).check("example.org", 12800, other);
        assertNotNull(mismatch, "a different key is refused even with accept-new");
        assertTrue(mismatch.contains(other) && mismatch.contains(key), "both keys shown whole: " + mismatch);
    }

    @Test
    void aPinOfAnotherFormIsRefusedAsMalformedNotAsAMismatch() {
        String good = "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q";
        assertNull(ServerTrust.pinned(good).check("h", 1, good));
        assertNotNull(ServerTrust.pinned(good).check("h", 1, "SHA256:" + "A".repeat(43)));
        for (String bad : List.of("SHA256:nope", good + "=", good.substring(0, good.length() - 1), "sha256:" + good.substring(7),
                good.substring(7), "MD5:" + good.substring(7), "SHA256:" + "-".repeat(43), " " + good,
                "SHA256:" + "A".repeat(42) + "B")) {
            IllegalArgumentException failure = assertThrows(IllegalArgumentException.class, () -> ServerTrust.pinned(bad), bad);
            assertTrue(failure.getMessage().contains("is not a key fingerprint"));
        }
    }
}
