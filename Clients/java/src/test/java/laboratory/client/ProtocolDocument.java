package laboratory.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Docs/PROTOCOL.md as the tests read it: its {@code vector} blocks ({@code name: hex} lines, an
 * indented line continuing the previous value, each name once) and its fenced example blocks.
 * The repository is {@code LABORATORY_REPO}, else the first folder above the working directory
 * that holds Docs/PROTOCOL.md.
 */
final class ProtocolDocument {
    private ProtocolDocument() {}

    static Path repository() {
        String configured = System.getenv("LABORATORY_REPO");
        if (configured != null && !configured.isEmpty()) {
            return Paths.get(configured);
        }
        Path folder = Paths.get("").toAbsolutePath();
        while (folder != null) {
            if (Files.exists(folder.resolve("Docs/PROTOCOL.md"))) {
                return folder;
            }
            folder = folder.getParent();
        }
        throw new IllegalStateException("Docs/PROTOCOL.md not found above " + Paths.get("").toAbsolutePath()
                + "; set LABORATORY_REPO");
    }

    static String text() {
        try {
            return new String(Files.readAllBytes(repository().resolve("Docs/PROTOCOL.md")), StandardCharsets.UTF_8);
        } catch (IOException error) {
            throw new UncheckedIOException(error);
        }
    }

    /** The lines of every fenced block whose info string is exactly {@code info}. */
    static List<List<String>> blocks(String info) {
        List<List<String>> blocks = new ArrayList<>();
        List<String> current = null;
        for (String line : text().split("\n", -1)) {
            if (current == null) {
                if (line.equals("```" + info)) {
                    current = new ArrayList<>();
                }
            } else if (line.startsWith("```")) {
                blocks.add(current);
                current = null;
            } else {
                current.add(line);
            }
        }
        return blocks;
    }

    /** Every vector of the document, by name. */
    static Map<String, byte[]> vectors() {
        Map<String, StringBuilder> hex = new LinkedHashMap<>();
        for (List<String> block : blocks("vector")) {
            String name = null;
            for (String line : block) {
                if (line.trim().isEmpty()) {
                    continue;
                }
                if (Character.isWhitespace(line.charAt(0))) {
                    if (name == null) {
                        throw new IllegalStateException("a continuation line without a name: " + line);
                    }
                    hex.get(name).append(line.trim());
                } else {
                    int colon = line.indexOf(':');
                    name = line.substring(0, colon).trim();
                    if (hex.containsKey(name)) {
                        throw new IllegalStateException("vector " + name + " defined twice");
                    }
                    hex.put(name, new StringBuilder(line.substring(colon + 1).trim()));
                }
            }
        }
        Map<String, byte[]> vectors = new LinkedHashMap<>();
        hex.forEach((name, value) -> vectors.put(name, fromHex(value.toString())));
        return vectors;
    }

    static byte[] fromHex(String hex) {
        if (hex.length() % 2 != 0) {
            throw new IllegalArgumentException("odd hex length");
        }
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
