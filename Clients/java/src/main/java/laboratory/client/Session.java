package laboratory.client;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An accepted session over one TCP connection: requests, renames, pings, key updates and a clean
 * close. {@link #connect} runs the handshake ({@link ClientHandshake}) on the calling thread; then
 * one reader thread reads every frame (answering the server's pings and key updates at once,
 * completing responses, passing events to the {@link SessionListener}). Every method may be called
 * from any thread; the blocking ones do network I/O, so never call them on Android's main thread.
 */
public final class Session implements AutoCloseable {
    /** How long {@link #close()} waits for the server's {@code closing} after {@code bye}. */
    public static final long BYE_TIMEOUT_MILLIS = 5_000;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final Object writeLock = new Object();
    private final RecordDirection sealer;
    private final RecordDirection opener;
    private final SessionInbound inbound;
    private final int maximumPayload;
    private final SessionListener listener;
    private final ServerMessage.Accepted acceptance;
    private final String fingerprint;
    private final Map<Long, CompletableFuture<ServerMessage.Response>> pending = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<Long>> pings = new ConcurrentHashMap<>();
    private final Queue<CompletableFuture<String>> serverNames = new ConcurrentLinkedQueue<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final AtomicLong updatesSent = new AtomicLong();
    private final AtomicLong unmatchedPongs = new AtomicLong();
    private final AtomicLong updatesReceived = new AtomicLong();
    private final CompletableFuture<LaboratoryException> ended = new CompletableFuture<>();
    private final Thread reader;
    private boolean byeSent;

    private Session(Socket socket, DataInputStream in, OutputStream out, RecordDirection sealer,
            RecordDirection opener, ConnectOptions options, ServerMessage.Accepted acceptance, String fingerprint) {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.sealer = sealer;
        this.opener = opener;
        this.inbound = new SessionInbound(sealer != null);
        this.maximumPayload = options.maximumPayload;
        this.listener = options.listener;
        this.acceptance = acceptance;
        this.fingerprint = fingerprint;
        this.reader = new Thread(this::readLoop, "laboratory-session-" + acceptance.connectionId);
        reader.setDaemon(true);
    }

    /**
     * Connects and runs the handshake ({@link SessionHandshake}): checks the hello and the
     * server's identity key before sending anything, then answers the prompts. Blocks for up to
     * the connect and handshake timeouts.
     *
     * @throws ClientHandshake.HandshakeException if the handshake fails (the kind and step say why)
     */
    public static Session connect(ConnectOptions options) throws IOException {
        return SessionHandshake.run(options);
    }

    /** Starts the reader thread of a session the handshake has just accepted. */
    static Session start(Socket socket, DataInputStream in, OutputStream out, RecordDirection sealer,
            RecordDirection opener, ConnectOptions options, ServerMessage.Accepted acceptance, String fingerprint) {
        Session session = new Session(socket, in, out, sealer, opener, options, acceptance, fingerprint);
        session.reader.start();
        return session;
    }

    /** The server's {@code accepted}: connection id, server name, services. */
    public ServerMessage.Accepted acceptance() {
        return acceptance;
    }

    /** The fingerprint of the server's identity key, as checked. */
    public String fingerprint() {
        return fingerprint;
    }

    /** Whether frames are sealed (false only for a plaintext session both sides opted into). */
    public boolean isEncrypted() {
        return sealer != null;
    }

    private void send(byte[] message) throws LaboratoryException {
        synchronized (writeLock) {
            sendLocked(message);
        }
    }

    private void sendLocked(byte[] message) throws LaboratoryException {
        if (ended.isDone()) {
            throw ended.join();
        }
        if (byeSent) {
            throw new LaboratoryException(LaboratoryException.Kind.CLOSED_LOCALLY, "the session is closing");
        }
        try {
            out.write(Framing.encode(sealer == null ? message : sealer.seal(message)));
            out.flush();
        } catch (IOException error) {
            throw new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST, "sending failed: " + error.getMessage(),
                    null, error);
        }
    }

    /** Sends a request; the future completes with the response, whatever its status. */
    public CompletableFuture<ServerMessage.Response> requestAsync(String service, byte[] body) {
        long id = nextId.getAndIncrement();
        CompletableFuture<ServerMessage.Response> future = new CompletableFuture<>();
        pending.put(id, future);
        try {
            send(ClientMessage.request(id, service, body));
        } catch (LaboratoryException error) {
            pending.remove(id);
            future.completeExceptionally(error);
        }
        return future;
    }

    /** Sends a request and waits for its answer; a status other than 0 is a {@link RequestException}. */
    public byte[] request(String service, byte[] body) throws LaboratoryException {
        return successful(await(requestAsync(service, body)));
    }

    static byte[] successful(ServerMessage.Response response) throws RequestException {
        if (response.status == 0) {
            return response.body;
        }
        long retry = -1;
        if (response.status == 4 && response.body.length == 4) {
            retry = (response.body[0] & 0xffL) << 24 | (response.body[1] & 0xffL) << 16 | (response.body[2] & 0xffL) << 8
                    | response.body[3] & 0xffL;
        }
        throw new RequestException(response.status, response.errorMessage, retry);
    }

    /** Changes the display name (PROTOCOL.md §13); a refused name is a {@link RequestException} with status 4. */
    public void rename(String name) throws LaboratoryException {
        long id = nextId.getAndIncrement();
        CompletableFuture<ServerMessage.Response> future = new CompletableFuture<>();
        pending.put(id, future);
        try {
            send(ClientMessage.rename(id, name));
        } catch (LaboratoryException error) {
            pending.remove(id);
            throw error;
        }
        successful(await(future));
    }

    /** Asks the server its name. */
    public String serverName() throws LaboratoryException {
        CompletableFuture<String> future = new CompletableFuture<>();
        synchronized (writeLock) {
            serverNames.add(future);
            sendLocked(ClientMessage.serverNameQuery());
        }
        return await(future);
    }

    /**
     * Sends {@code count} pings of value 0 that nothing waits for (their pongs match no ping and are
     * only counted), at most 4,096 ahead of their pongs, so the server never queues much for this
     * client. For tests that need many frames under one key.
     */
    void pingFlood(int count) throws LaboratoryException, InterruptedException {
        long start = unmatchedPongs.get();
        byte[] ping = ClientMessage.ping(0);
        int batch = 512;
        for (int sent = 0; sent < count; sent += batch) {
            synchronized (unmatchedPongs) {
                while (sent - (unmatchedPongs.get() - start) > 16_384 && !ended.isDone()) {
                    unmatchedPongs.wait(1000);
                }
            }
            int frames = Math.min(batch, count - sent);
            synchronized (writeLock) {
                java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream(frames * 32);
                for (int i = 0; i < frames; i++) {
                    byte[] frame = Framing.encode(sealer == null ? ping : sealer.seal(ping));
                    buffer.write(frame, 0, frame.length);
                }
                if (ended.isDone()) {
                    throw ended.join();
                }
                try {
                    buffer.writeTo(out);
                    out.flush();
                } catch (IOException error) {
                    throw new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST, "sending failed", null, error);
                }
            }
        }
        synchronized (unmatchedPongs) {
            while (unmatchedPongs.get() - start < count && !ended.isDone()) {
                unmatchedPongs.wait(1000);
            }
        }
        if (ended.isDone()) {
            throw ended.join();
        }
    }

    /** Sends a ping and waits for its pong; returns the round trip in nanoseconds. */
    public long ping() throws LaboratoryException {
        long value = RANDOM.nextLong();
        CompletableFuture<Long> future = new CompletableFuture<>();
        pings.put(value, future);
        long start = System.nanoTime();
        send(ClientMessage.ping(value));
        await(future);
        return System.nanoTime() - start;
    }

    /**
     * Replaces this client's sending key (PROTOCOL.md §8): sends {@code keyUpdate} sealed under the
     * current key, then seals everything after under the new one. With {@code requestUpdate} the
     * server replaces its own key in reply.
     */
    public void updateKeys(boolean requestUpdate) throws LaboratoryException {
        synchronized (writeLock) {
            updateKeysLocked(requestUpdate);
        }
    }

    private void updateKeysLocked(boolean requestUpdate) throws LaboratoryException {
        if (sealer == null) {
            throw new LaboratoryException(LaboratoryException.Kind.PROTOCOL_VIOLATION,
                    "a plaintext session has no keys to update");
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        sendLocked(ClientMessage.keyUpdate(secret, requestUpdate));
        sealer.update(secret);
        updatesSent.incrementAndGet();
    }

    /** Key updates this client has sent (its own, and its answers to the server's requests). */
    public long keyUpdatesSent() {
        return updatesSent.get();
    }

    /** Key updates the server has sent (answers to this client's requests, and its own renewals). */
    public long keyUpdatesReceived() {
        return updatesReceived.get();
    }

    /** Frames this client has sealed under its current key (0 after each update). */
    public long sentUnderCurrentKey() {
        synchronized (writeLock) {
            return sealer == null ? 0 : sealer.counter();
        }
    }

    private <T> T await(CompletableFuture<T> future) throws LaboratoryException {
        try {
            return future.get();
        } catch (ExecutionException error) {
            Throwable cause = error.getCause();
            if (cause instanceof LaboratoryException laboratory) {
                throw laboratory;
            }
            throw new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST, String.valueOf(cause), null, cause);
        } catch (InterruptedException error) {
            Thread.currentThread().interrupt();
            throw new LaboratoryException(LaboratoryException.Kind.CLOSED_LOCALLY, "interrupted", null, error);
        }
    }

    private void readLoop() {
        LaboratoryException end;
        try {
            while (true) {
                byte[] payload = Framing.read(in, maximumPayload);
                ServerMessage message = ServerMessage.decode(opener == null ? payload : opener.open(payload));
                CloseReason closed = null;
                for (SessionInbound.Action action : inbound.receive(message)) {
                    closed = perform(action);
                }
                if (closed != null) {
                    end = new LaboratoryException(LaboratoryException.Kind.CLOSED_BY_SERVER,
                            "the server closed the session: " + closed, closed, null);
                    break;
                }
            }
        } catch (LaboratoryException error) {
            end = error;
        } catch (EOFException error) {
            end = new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST,
                    "the server closed the connection without closing", null, error);
        } catch (IOException error) {
            boolean local = ended.isDone() || socket.isClosed();
            end = new LaboratoryException(local ? LaboratoryException.Kind.CLOSED_LOCALLY
                    : LaboratoryException.Kind.CONNECTION_LOST, "the connection ended: " + error.getMessage(), null, error);
        }
        finish(end);
    }

    private CloseReason perform(SessionInbound.Action action) throws LaboratoryException {
        if (action instanceof SessionInbound.SendPong pong) {
            send(ClientMessage.pong(pong.value));
        } else if (action instanceof SessionInbound.UpdateOpener update) {
            opener.update(update.secret);
            updatesReceived.incrementAndGet();
        } else if (action instanceof SessionInbound.AnswerKeyUpdate) {
            synchronized (writeLock) {
                if (!byeSent) {
                    updateKeysLocked(false);
                }
            }
        } else if (action instanceof SessionInbound.Closed closed) {
            return closed.reason;
        } else if (action instanceof SessionInbound.Deliver deliver) {
            deliver(deliver.message);
        }
        return null;
    }

    private void deliver(ServerMessage message) {
        if (message instanceof ServerMessage.Response response) {
            CompletableFuture<ServerMessage.Response> future = pending.remove(response.requestId);
            if (future != null) {
                future.complete(response);
            }
        } else if (message instanceof ServerMessage.Event event) {
            listener.onEvent(event.service, event.body);
        } else if (message instanceof ServerMessage.ServerName name) {
            CompletableFuture<String> future = serverNames.poll();
            if (future != null) {
                future.complete(name.name);
            }
        } else if (message instanceof ServerMessage.Pong pong) {
            CompletableFuture<Long> future = pings.remove(pong.value);
            if (future != null) {
                future.complete(pong.value);
            } else {
                synchronized (unmatchedPongs) {
                    unmatchedPongs.incrementAndGet();
                    unmatchedPongs.notifyAll();
                }
            }
        } else if (message instanceof ServerMessage.ServerStopping stopping) {
            listener.onServerStopping(stopping.graceMillis);
        }
    }

    private void finish(LaboratoryException end) {
        if (!ended.complete(end)) {
            end = ended.join();
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing a socket that failed already changes nothing.
        }
        for (Long id : pending.keySet()) {
            CompletableFuture<ServerMessage.Response> future = pending.remove(id);
            if (future != null) {
                future.completeExceptionally(end);
            }
        }
        for (Long value : pings.keySet()) {
            CompletableFuture<Long> future = pings.remove(value);
            if (future != null) {
                future.completeExceptionally(end);
            }
        }
        CompletableFuture<String> name;
        while ((name = serverNames.poll()) != null) {
            name.completeExceptionally(end);
        }
        listener.onClosed(end);
    }

    /** Whether the session has ended. */
    public boolean isClosed() {
        return ended.isDone();
    }

    /** Waits until the session has ended, at most {@code millis}; returns how, or {@code null} if it has not ended. */
    public LaboratoryException awaitEnd(long millis) throws InterruptedException {
        try {
            return ended.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException error) {
            return null;
        } catch (ExecutionException error) {
            throw new IllegalStateException(error);
        }
    }

    /**
     * Ends the session cleanly: sends {@code bye}, waits up to 5 s for the server's
     * {@code closing} (code 1 once every outstanding request has been answered), then closes the
     * socket. Returns the server's reason, or {@code null} if none arrived.
     */
    public CloseReason bye() {
        synchronized (writeLock) {
            if (!byeSent && !ended.isDone()) {
                try {
                    sendLocked(ClientMessage.bye());
                } catch (LaboratoryException ignored) {
                    // The session ended meanwhile; its end says why.
                }
                byeSent = true;
            }
        }
        LaboratoryException end = null;
        try {
            end = awaitEnd(BYE_TIMEOUT_MILLIS);
        } catch (InterruptedException error) {
            Thread.currentThread().interrupt();
        }
        if (end == null) {
            ended.complete(new LaboratoryException(LaboratoryException.Kind.CLOSED_LOCALLY, "closed without the server's closing"));
            try {
                socket.close();
            } catch (IOException ignored) {
                // Already closed.
            }
            return null;
        }
        return end.closeReason();
    }

    /** Ends the session cleanly, as {@link #bye()}. */
    @Override
    public void close() {
        bye();
    }

    /** Closes the socket at once, without {@code bye} (outstanding requests are lost). */
    public void abort() {
        ended.complete(new LaboratoryException(LaboratoryException.Kind.CLOSED_LOCALLY, "aborted"));
        try {
            socket.close();
        } catch (IOException ignored) {
            // Already closed.
        }
    }
}
