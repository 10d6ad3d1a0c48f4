package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client with other clients on one server: chat with the Swift terminal client
 * ({@code LABORATORY_CLIENT_BIN}) in both directions, one known-hosts file shared both ways, and
 * this library's own console client run as a process.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class InteropLiveTest {
    @TempDir
    static Path folder;
    static LiveServer server;

    @BeforeAll
    static void start() throws Exception {
        server = LiveServer.start(folder.resolve("server"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Process swift(Path config, String... arguments) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(LiveServer.binary("LABORATORY_CLIENT_BIN", "laboratory").toString());
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("XDG_CONFIG_HOME", config.toString());
        builder.environment().put("HOME", config.toString());
        builder.environment().remove("LABORATORY_PASSWORD");
        return builder.start();
    }

    @Test
    void chatWithTheSwiftTerminalClient() throws Exception {
        EventLog log = new EventLog();
        Chat chat = new Chat(log);
        try (Session session = Session.connect(server.options("Jay").listener(chat.sessionListener(null)))) {
            chat.attach(session);
            chat.join("mixed");
            Process swift = swift(folder.resolve("swift-config"), "connect", server.host + ":" + server.port,
                    "--fingerprint", server.fingerprint, "--password-file", server.passwordFile.toString(), "--name", "Swifty");
            ProcessLines output = new ProcessLines(swift.getInputStream());
            OutputStream input = swift.getOutputStream();
            input.write("/join mixed\n".getBytes(StandardCharsets.UTF_8));
            input.flush();
            ChatEvent joined = log.await(e -> e.kind.equals("joined") && e.name.equals("Swifty"), "the Swift client joins");
            chat.say("mixed", "hello from java");
            output.await("hello from java");
            input.write("hello from swift, é\n".getBytes(StandardCharsets.UTF_8));
            input.close();
            ChatEvent message = log.await(e -> "hello from swift, é".equals(e.text), "the Swift client's message");
            assertEquals(joined.from, message.from);
            log.await(e -> e.kind.equals("left") && e.from == joined.from, "the Swift client leaves at the end of its input");
            assertTrue(swift.waitFor(20, TimeUnit.SECONDS));
            assertEquals(0, swift.exitValue(), output.lines.toString());
        }
    }

    @Test
    void oneKnownHostsFileTrustedBothWays() throws Exception {
        // The Java client records the key (trust on first use); the Swift client then trusts that line.
        Path javaWritten = folder.resolve("java-written/known_hosts");
        Session.connect(new ConnectOptions(server.host, server.port, LiveServer.PASSWORD, "Jay",
                ServerTrust.knownHosts(new KnownHosts(javaWritten), true))).close();
        Process echo = swift(folder.resolve("swift-config-2"), "echo", server.host + ":" + server.port, "read", "by", "swift",
                "--known-hosts", javaWritten.toString(), "--password-file", server.passwordFile.toString());
        ProcessLines output = new ProcessLines(echo.getInputStream());
        assertTrue(echo.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, echo.exitValue(), "the Swift client trusted the Java client's line: " + output.lines);
        output.await("read by swift");
        // The Swift client records it; the Java client, without accept-new, trusts its line.
        Path swiftWritten = folder.resolve("swift-written/known_hosts");
        Process record = swift(folder.resolve("swift-config-3"), "echo", server.host + ":" + server.port, "x",
                "--known-hosts", swiftWritten.toString(), "--accept-new", "--password-file", server.passwordFile.toString());
        assertTrue(record.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, record.exitValue());
        try (Session session = Session.connect(new ConnectOptions(server.host, server.port, LiveServer.PASSWORD, "Jay",
                ServerTrust.knownHosts(new KnownHosts(swiftWritten), false)))) {
            assertArrayEquals("ok".getBytes(StandardCharsets.UTF_8), session.request("echo", "ok".getBytes(StandardCharsets.UTF_8)));
        }
        assertEquals(new KnownHosts(javaWritten).lookup(server.host, server.port), new KnownHosts(swiftWritten).lookup(server.host, server.port));
    }

    private static Process console(String... arguments) throws Exception {
        String jar = System.getenv("LABORATORY_JAVA_CLIENT_JAR");
        Path path = jar != null ? Paths.get(jar) : ProtocolDocument.repository().resolve(".build/java/laboratory-client.jar");
        List<String> command = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", path.toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("LABORATORY_PASSWORD");
        return builder.start();
    }

    @Test
    void theConsoleClient() throws Exception {
        Process client = console("connect", server.host + ":" + server.port, "--fingerprint", server.fingerprint,
                "--password-file", server.passwordFile.toString(), "--name", "Console");
        ProcessLines output = new ProcessLines(client.getInputStream());
        try (OutputStream input = client.getOutputStream()) {
            input.write("echo me\n/join console\nsaid \u202e here\n/rekey\n/rename Console 2\n/quit\n".getBytes(StandardCharsets.UTF_8));
        }
        assertTrue(client.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, client.exitValue(), output.lines.toString());
        output.await("echo me");
        output.await("[console#1] Console (#");
        String said = output.await(": said ");
        assertTrue(said.contains("\\u{202e}") && !said.contains("\u202e"), "a bidirectional override is shown harmless: " + said);
        output.await("keys renewed");
        output.await("you are now Console 2");

        Process refused = console("echo", server.host + ":" + server.port, "hi", "--fingerprint", "SHA256:" + "A".repeat(43),
                "--password-file", server.passwordFile.toString());
        ProcessLines refusal = new ProcessLines(refused.getInputStream());
        assertTrue(refused.waitFor(30, TimeUnit.SECONDS));
        assertEquals(77, refused.exitValue());
        refusal.await("is not the pinned key");
        assertTrue(Files.exists(server.passwordFile));
    }
}
