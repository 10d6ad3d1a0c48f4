package laboratory.client;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;

/**
 * Drives a {@link ClientHandshake} over a new socket: reads each frame before the handshake
 * deadline, opens it with the installed keys, and carries out the machine's actions (the trust
 * decision, the key exchange, the prompts' answers, a new name after a rejection) until the
 * server accepts; then hands the socket and keys to a {@link Session}.
 */
final class SessionHandshake {
    private static final SecureRandom RANDOM = new SecureRandom();

    private SessionHandshake() {}

    static Session run(ConnectOptions options) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(options.host, options.port), options.connectTimeoutMillis);
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            OutputStream out = socket.getOutputStream();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.handshakeTimeoutMillis);
            ClientHandshake machine = new ClientHandshake(options.password, options.name, options.plaintext,
                    options.clockSkewMillis);
            RecordDirection sealer = null;
            RecordDirection opener = null;
            Deque<ClientHandshake.Action> actions = new ArrayDeque<>(
                    machine.receiveHello(readBefore(socket, in, deadline, options.maximumPayload), System.currentTimeMillis()));
            while (true) {
                ClientHandshake.Action action = actions.poll();
                if (action == null) {
                    // Nothing left to do until the server's next frame.
                    byte[] payload = readBefore(socket, in, deadline, options.maximumPayload);
                    byte[] message = payload;
                    if (opener != null) {
                        try {
                            message = opener.open(payload);
                        } catch (LaboratoryException error) {
                            throw machine.receiveUnopenable(payload);
                        }
                    }
                    actions.addAll(machine.receive(ServerMessage.decode(message)));
                } else if (action instanceof ClientHandshake.CheckTrust check) {
                    String mismatch = options.trust.check(options.host, options.port, check.fingerprint);
                    byte[] secret = new byte[32];
                    RANDOM.nextBytes(secret);
                    actions.addAll(machine.trustDecided(mismatch, secret));
                } else if (action instanceof ClientHandshake.SendPlaintext send) {
                    out.write(Framing.encode(send.payload));
                    out.flush();
                } else if (action instanceof ClientHandshake.InstallKeys install) {
                    sealer = new RecordDirection(install.keys.c2sKey, install.keys.c2sIv);
                    opener = new RecordDirection(install.keys.s2cKey, install.keys.s2cIv);
                } else if (action instanceof ClientHandshake.Send send) {
                    byte[] payload = sealer == null ? send.message : sealer.seal(send.message);
                    if (payload.length > Framing.HANDSHAKE_MAXIMUM_PAYLOAD) {
                        // The server would close with code 3 (PROTOCOL.md §3): say why instead.
                        throw new LaboratoryException(LaboratoryException.Kind.PROTOCOL_VIOLATION,
                                "the password or name is too long to send before acceptance (at most 1,024 bytes of UTF-8)");
                    }
                    out.write(Framing.encode(payload));
                    out.flush();
                } else if (action instanceof ClientHandshake.NameRejected rejected) {
                    String next = options.nameRetry == null ? null
                            : options.nameRetry.nextName(rejected.rejection.reason, rejected.rejection.attemptsLeft);
                    if (next == null) {
                        throw machine.giveUpName();
                    }
                    actions.addAll(machine.retryName(next));
                } else if (action instanceof ClientHandshake.Accepted accepted) {
                    socket.setSoTimeout(0);
                    return Session.start(socket, in, out, sealer, opener, options, accepted.acceptance,
                            Fingerprint.of(machine.hello().identitySpki));
                }
            }
        } catch (IOException | RuntimeException error) {
            socket.close();
            throw error;
        }
    }

    private static byte[] readBefore(Socket socket, DataInputStream in, long deadline, int maximum) throws IOException {
        long remaining = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (remaining <= 0) {
            throw new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST, "the handshake took too long");
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, remaining));
        try {
            return Framing.read(in, maximum);
        } catch (SocketTimeoutException error) {
            throw new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST, "the handshake took too long", null, error);
        } catch (EOFException error) {
            throw new LaboratoryException(LaboratoryException.Kind.CONNECTION_LOST,
                    "the server closed the connection during the handshake", null, error);
        }
    }
}
