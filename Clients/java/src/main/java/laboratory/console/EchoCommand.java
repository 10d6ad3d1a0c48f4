package laboratory.console;

import java.nio.charset.StandardCharsets;
import laboratory.client.Session;

/** {@code echo HOST:PORT TEXT...}: one request to the echo service; the reply on standard output. */
final class EchoCommand {
    private EchoCommand() {}

    static int run(Arguments arguments) throws Exception {
        if (arguments.rest.isEmpty()) {
            throw new IllegalArgumentException("give the text to send");
        }
        try (Session session = Session.connect(Main.options(arguments))) {
            byte[] reply = session.request("echo", String.join(" ", arguments.rest).getBytes(StandardCharsets.UTF_8));
            Main.OUT.println(new String(reply, StandardCharsets.UTF_8));
        }
        return 0;
    }
}
