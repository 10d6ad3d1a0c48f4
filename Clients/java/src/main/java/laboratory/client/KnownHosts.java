package laboratory.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * A known-hosts file in the format of PROTOCOL.md §4, shared with the Swift and Python clients:
 * one {@code ENDPOINT FINGERPRINT} entry a line, fields separated by spaces or tabs; {@code #}
 * comments and blank lines; malformed lines never match and are kept when the file is rewritten;
 * the first entry for an endpoint counts. Lines are compared code point by code point (Java's
 * {@code String.equals} on the decoded text, with no normalization), and a byte-order mark is
 * not skipped.
 */
public final class KnownHosts {
    private final Path path;
    private final List<String> lines = new ArrayList<>();

    /** Reads the file; a missing file is empty. */
    public KnownHosts(Path path) throws IOException {
        this.path = path;
        if (!Files.exists(path)) {
            return;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(path))).toString();
        } catch (CharacterCodingException error) {
            throw new IOException(path + " is not UTF-8 text", error);
        }
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            String line = text.substring(start, end);
            lines.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
            start = end + 1;
        }
    }

    /** The default location: {@code $XDG_CONFIG_HOME/laboratory/known_hosts}, else {@code ~/.config/laboratory/known_hosts}. */
    public static Path defaultPath() {
        String config = System.getenv("XDG_CONFIG_HOME");
        Path base = config != null && !config.isEmpty() ? Paths.get(config) : Paths.get(System.getProperty("user.home"), ".config");
        return base.resolve("laboratory").resolve("known_hosts");
    }

    /**
     * How a server is named in the file: {@code host:port}, ASCII letters of the host in lower
     * case and nothing else changed; an IPv6 literal (any host with a colon) in brackets.
     */
    public static String endpoint(String host, int port) {
        StringBuilder folded = new StringBuilder(host.length());
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            folded.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c);
        }
        String text = folded.toString();
        if (text.startsWith("[") && text.endsWith("]") && text.length() >= 2) {
            text = text.substring(1, text.length() - 1);
        }
        return text.indexOf(':') >= 0 ? "[" + text + "]:" + port : text + ":" + port;
    }

    /** An endpoint field in canonical form, or {@code null} if it is not one (also reads the old unbracketed IPv6 form). */
    static String canonical(String field) {
        int colon = field.lastIndexOf(':');
        if (colon < 0) {
            return null;
        }
        String portText = field.substring(colon + 1);
        if (portText.isEmpty() || portText.length() > 5 || portText.charAt(0) == '0') {
            return null;
        }
        for (int i = 0; i < portText.length(); i++) {
            if (portText.charAt(i) < '0' || portText.charAt(i) > '9') {
                return null;
            }
        }
        int port = Integer.parseInt(portText);
        if (port > 65535) {
            return null;
        }
        String host = field.substring(0, colon);
        if (host.startsWith("[")) {
            if (!host.endsWith("]") || host.length() <= 2) {
                return null;
            }
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf('[') >= 0 || host.indexOf(']') >= 0) {
            return null;
        }
        return host.isEmpty() ? null : endpoint(host, port);
    }

    /** The entry a line holds as {endpoint, fingerprint}, or {@code null} for a comment, blank or malformed line. */
    static String[] entry(String line) {
        List<String> fields = new ArrayList<>();
        int i = 0;
        while (i < line.length()) {
            while (i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
                i++;
            }
            int start = i;
            while (i < line.length() && line.charAt(i) != ' ' && line.charAt(i) != '\t') {
                i++;
            }
            if (i > start) {
                fields.add(line.substring(start, i));
            }
        }
        if (fields.size() != 2 || fields.get(0).startsWith("#") || !fields.get(1).startsWith("SHA256:")) {
            return null;
        }
        String endpoint = canonical(fields.get(0));
        return endpoint == null ? null : new String[] {endpoint, fields.get(1)};
    }

    /** The fingerprint recorded for a server, or {@code null}. */
    public String lookup(String host, int port) {
        String wanted = endpoint(host, port);
        for (String line : lines) {
            String[] entry = entry(line);
            if (entry != null && entry[0].equals(wanted)) {
                return entry[1];
            }
        }
        return null;
    }

    /**
     * Records a fingerprint for a server, replacing every entry it had with one line at the end,
     * and writes the file atomically (a temporary file renamed over it) with mode 0600.
     */
    public void add(String host, int port, String fingerprint) throws IOException {
        String key = endpoint(host, port);
        lines.removeIf(line -> {
            String[] entry = entry(line);
            return entry != null && entry[0].equals(key);
        });
        lines.add(key + " " + fingerprint);
        StringBuilder text = new StringBuilder();
        for (String line : lines) {
            text.append(line).append('\n');
        }
        Path directory = path.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        Path temporary = Files.createTempFile(directory, ".known_hosts", ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // A file system without POSIX modes keeps its own defaults.
            }
            Files.write(temporary, text.toString().getBytes(StandardCharsets.UTF_8));
            try {
                Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException error) {
                Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
