package laboratory.console;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import laboratory.client.ConnectOptions;
import laboratory.client.Session;

/**
 * {@code bench HOST:PORT --count N}: in one process, N sequential handshakes (connect, accepted,
 * then {@code bye} and its {@code closing}, timed up to {@code accepted}), then N sequential echo
 * round trips of 64 bytes on one session; prints both rates.
 */
final class BenchCommand {
    private BenchCommand() {}

    static int run(Arguments arguments) throws Exception {
        ConnectOptions options = Main.options(arguments);
        int count = arguments.count;
        // Warm up the JIT and the server's caches so the figures measure steady state.
        for (int i = 0; i < Math.min(20, count); i++) {
            Session.connect(options).close();
        }
        long handshakeNanos = 0;
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            Session session = Session.connect(options);
            handshakeNanos += System.nanoTime() - start;
            session.close();
        }
        byte[] body = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        long echoNanos;
        try (Session session = Session.connect(options)) {
            for (int i = 0; i < Math.min(1000, count); i++) {
                session.request("echo", body);
            }
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                session.request("echo", body);
            }
            echoNanos = System.nanoTime() - start;
        }
        Main.OUT.println(String.format(Locale.ROOT, "handshakes/s: %.1f (%d sequential, in process)", count / (handshakeNanos / 1e9), count));
        Main.OUT.println(String.format(Locale.ROOT, "echo round trips/s: %.1f (%d sequential 64-byte requests, one session)", count / (echoNanos / 1e9), count));
        return 0;
    }
}
