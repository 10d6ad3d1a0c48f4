package laboratory.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real {@code laboratory-server} process for the live tests: port 0 (it prints the port it got),
 * a password file and a state folder of its own, stopped with SIGTERM (a graceful shutdown). The
 * binary is {@code LABORATORY_SERVER_BIN}, which scripts/test-java sets.
 */
final class LiveServer implements AutoCloseable {
    static final String PASSWORD = "correct horse battery staple";

    final Process process;
    final String host;
    final int port;
    final String fingerprint;
    final Path folder;
    final Path passwordFile;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    final List<String> seen = Collections.synchronizedList(new ArrayList<>());

    private LiveServer(Process process, Path folder, Path passwordFile) throws Exception {
        this.process = process;
        this.folder = folder;
        this.passwordFile = passwordFile;
        Thread pump = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    seen.add(line);
                    lines.add(line);
                }
            } catch (IOException ended) {
                // The process is gone.
            }
        }, "laboratory-server-output");
        pump.setDaemon(true);
        pump.start();
        fingerprint = waitFor("Host key fingerprint: (SHA256:\\S+)").group(1);
        Matcher listening = waitFor("Listening on (\\S+):(\\d+)");
        host = listening.group(1);
        port = Integer.parseInt(listening.group(2));
    }

    static Path binary(String variable, String product) {
        String configured = System.getenv(variable);
        Path path = configured != null && !configured.isEmpty() ? Paths.get(configured)
                : ProtocolDocument.repository().resolve(".build/debug/" + product);
        if (!Files.isExecutable(path)) {
            throw new IllegalStateException(path + " is not an executable; build it (swift build) or set " + variable);
        }
        return path;
    }

    /** Starts a server in {@code folder} with extra options. */
    static LiveServer start(Path folder, String... options) throws Exception {
        Files.createDirectories(folder);
        Path password = folder.resolve("password");
        Files.write(password, (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8));
        Files.setPosixFilePermissions(password, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        List<String> command = new ArrayList<>(List.of(binary("LABORATORY_SERVER_BIN", "laboratory-server").toString(),
                "--port", "0", "--state-dir", folder.resolve("state").toString(), "--password-file", password.toString(),
                "--log-level", "warning"));
        Collections.addAll(command, options);
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            return new LiveServer(process, folder, password);
        } catch (Exception | AssertionError error) {
            process.destroyForcibly();
            throw error;
        }
    }

    Matcher waitFor(String pattern) throws InterruptedException {
        Pattern compiled = Pattern.compile(pattern);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            long left = deadline - System.nanoTime();
            String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
            if (line == null) {
                throw new AssertionError("the server printed no line matching " + pattern + " within 30 s; it printed " + seen);
            }
            Matcher matcher = compiled.matcher(line);
            if (matcher.find()) {
                return matcher;
            }
        }
    }

    ConnectOptions options(String name) {
        return new ConnectOptions(host, port, PASSWORD, name, ServerTrust.pinned(fingerprint));
    }

    /** Stops the server gracefully (SIGTERM) and waits for it. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException error) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
