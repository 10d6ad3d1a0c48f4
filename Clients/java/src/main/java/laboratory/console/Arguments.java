package laboratory.console;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import laboratory.client.KnownHosts;
import laboratory.client.ServerTrust;

/** The console client's command line: {@code HOST:PORT} and its options. */
final class Arguments {
    String host;
    int port;
    String name = "java";
    String passwordFile;
    String knownHosts;
    String fingerprint;
    boolean acceptNew;
    int count = 1000;
    final List<String> rest = new ArrayList<>();

    static Arguments parse(String[] args, int from) {
        Arguments parsed = new Arguments();
        for (int i = from; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--name" -> parsed.name = value(args, ++i, arg);
                case "--password-file" -> parsed.passwordFile = value(args, ++i, arg);
                case "--known-hosts" -> parsed.knownHosts = value(args, ++i, arg);
                case "--fingerprint" -> parsed.fingerprint = value(args, ++i, arg);
                case "--accept-new" -> parsed.acceptNew = true;
                case "--count" -> parsed.count = Integer.parseInt(value(args, ++i, arg));
                default -> {
                    if (arg.startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + arg);
                    }
                    if (parsed.host == null) {
                        parsed.endpoint(arg);
                    } else {
                        parsed.rest.add(arg);
                    }
                }
            }
        }
        if (parsed.host == null) {
            throw new IllegalArgumentException("give the server as HOST:PORT");
        }
        return parsed;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private void endpoint(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("give the server as HOST:PORT, not " + text);
        }
        String hostPart = text.substring(0, colon);
        host = hostPart.startsWith("[") && hostPart.endsWith("]") ? hostPart.substring(1, hostPart.length() - 1) : hostPart;
        port = Integer.parseInt(text.substring(colon + 1));
    }

    String password() throws IOException {
        if (passwordFile != null) {
            String text = new String(Files.readAllBytes(Paths.get(passwordFile)), StandardCharsets.UTF_8);
            int end = text.indexOf('\n');
            return end < 0 ? text : text.substring(0, end);
        }
        String environment = System.getenv("LABORATORY_PASSWORD");
        if (environment != null) {
            return environment;
        }
        if (System.console() != null) {
            return new String(System.console().readPassword("Password for %s:%d: ", host, port));
        }
        throw new IllegalArgumentException("no password: use --password-file or LABORATORY_PASSWORD");
    }

    ServerTrust trust() throws IOException {
        if (fingerprint != null) {
            return ServerTrust.pinned(fingerprint);
        }
        KnownHosts file = new KnownHosts(knownHosts != null ? Paths.get(knownHosts) : KnownHosts.defaultPath());
        return ServerTrust.knownHosts(file, acceptNew);
    }
}
