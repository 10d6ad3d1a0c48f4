package laboratory.console;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import laboratory.client.CloseReason;
import laboratory.client.ConnectOptions;
import laboratory.client.LaboratoryException;

/**
 * The console client: {@code connect} (chat, line by line), {@code echo} (one request) and
 * {@code bench} (handshakes/s and echo round trips/s). A failure is one line on standard error and
 * a non-zero status: 2 usage, 65 protocol, 69 unavailable, 75 refused (try later), 77 untrusted
 * key or wrong password.
 */
public final class Main {
    private Main() {}

    static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    static final PrintStream ERR = new PrintStream(System.err, true, StandardCharsets.UTF_8);

    /** Runs a subcommand. */
    public static void main(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            OUT.println("usage: laboratory-java connect|echo|bench HOST:PORT [TEXT...] [--name NAME] "
                    + "[--password-file FILE] [--known-hosts FILE] [--fingerprint SHA256:...] [--accept-new] [--count N]");
            System.exit(args.length == 0 ? 2 : 0);
        }
        int status;
        try {
            Arguments arguments = Arguments.parse(args, 1);
            status = switch (args[0]) {
                case "connect" -> ChatConsole.run(arguments, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
                case "echo" -> EchoCommand.run(arguments);
                case "bench" -> BenchCommand.run(arguments);
                default -> throw new IllegalArgumentException("unknown command " + args[0]);
            };
        } catch (IllegalArgumentException error) {
            ERR.println("laboratory-java: " + error.getMessage());
            status = 2;
        } catch (LaboratoryException error) {
            ERR.println("laboratory-java: " + ConsoleText.neutralized(error.getMessage())
                    + (error.retryAfterMillis() > 0 ? " (locked out for " + CloseReason.spokenDuration(error.retryAfterMillis()) + ")" : ""));
            status = exitStatus(error);
        } catch (Exception error) {
            ERR.println("laboratory-java: " + error);
            status = 69;
        }
        System.exit(status);
    }

    static int exitStatus(LaboratoryException error) {
        CloseReason reason = error.closeReason();
        if (reason != null && reason.code == CloseReason.REFUSED) {
            return 75;
        }
        if (reason != null && reason.code == CloseReason.WRONG_PASSWORD) {
            return 77;
        }
        return switch (error.kind()) {
            case UNTRUSTED_KEY, BAD_CERTIFICATE -> 77;
            case PROTOCOL_VIOLATION, DECRYPTION_FAILED -> 65;
            default -> 69;
        };
    }

    static ConnectOptions options(Arguments arguments) throws java.io.IOException {
        return new ConnectOptions(arguments.host, arguments.port, arguments.password(), arguments.name, arguments.trust());
    }
}
