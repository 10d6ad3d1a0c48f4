package laboratory.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Collects a process's output lines, for a test to wait on one. */
final class ProcessLines {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    ProcessLines(InputStream stream) {
        Thread pump = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    synchronized (this) {
                        lines.add(line);
                        notifyAll();
                    }
                }
            } catch (IOException ended) {
                // The process is gone.
            }
        }, "process-output");
        pump.setDaemon(true);
        pump.start();
    }

    /** Waits up to 20 s for a line containing {@code text}. */
    synchronized String await(String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            synchronized (lines) {
                for (String line : lines) {
                    if (line.contains(text)) {
                        return line;
                    }
                }
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new AssertionError("no line containing " + text + "; got " + lines);
            }
            wait(left);
        }
    }
}
