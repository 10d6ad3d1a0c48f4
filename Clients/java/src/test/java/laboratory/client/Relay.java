package laboratory.client;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A man in the middle on loopback for the adversarial tests: relays frames between a client and
 * the real server, counts what the client sends, and lets a test change any frame on its way.
 * Frames are read whole, then passed to a {@link Tamper} with their index in their direction.
 */
final class Relay implements AutoCloseable {
    /** Rewrites the {@code index}-th frame payload of one direction (0 is the first). */
    interface Tamper {
        byte[] apply(int index, byte[] payload);
    }

    static final Tamper NONE = (index, payload) -> payload;

    private final ServerSocket listener;
    final AtomicLong bytesFromClient = new AtomicLong();
    final CountDownLatch clientClosed = new CountDownLatch(1);

    Relay(int serverPort, Tamper toServer, Tamper toClient) throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            try (Socket client = listener.accept(); Socket server = new Socket(InetAddress.getLoopbackAddress(), serverPort)) {
                Thread down = pump(server, client, toClient, null);
                pump(client, server, toServer, bytesFromClient).join();
                clientClosed.countDown();
                server.shutdownOutput();
                down.join(10_000);
            } catch (IOException | InterruptedException ended) {
                clientClosed.countDown();
            }
        }, "relay");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    private static Thread pump(Socket from, Socket to, Tamper tamper, AtomicLong counter) {
        Thread thread = new Thread(() -> {
            try {
                DataInputStream in = new DataInputStream(new BufferedInputStream(from.getInputStream()));
                OutputStream out = to.getOutputStream();
                for (int index = 0;; index++) {
                    byte[] payload = Framing.read(in, Integer.MAX_VALUE - 8);
                    if (counter != null) {
                        counter.addAndGet(4 + payload.length);
                    }
                    out.write(Framing.encode(tamper.apply(index, payload)));
                    out.flush();
                }
            } catch (IOException ended) {
                try {
                    to.shutdownOutput();
                } catch (IOException ignored) {
                    // Already closed.
                }
            }
        }, "relay-pump");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
