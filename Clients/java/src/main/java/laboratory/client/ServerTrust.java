package laboratory.client;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Decides whether a server's identity key is trusted (PROTOCOL.md §4, check 2), before anything is
 * sent. Return {@code null} to trust it, or the reason it is not trusted.
 */
public interface ServerTrust {
    /** The decision for the identity key with {@code fingerprint}, served at {@code host:port}. */
    String check(String host, int port, String fingerprint);

    /** Trusts exactly one key; a pin not in the fingerprint form is refused here as malformed. */
    static ServerTrust pinned(String fingerprint) {
        String pin = Fingerprint.requireWellFormed(fingerprint);
        return (host, port, seen) -> seen.equals(pin) ? null
                : "the server's key " + seen + " is not the pinned key " + pin;
    }

    /**
     * Trusts the key recorded for the server in a known-hosts file. A server not in the file is
     * trusted and recorded if {@code acceptNew} (trust on first use), else refused; a different
     * key than the recorded one is always refused.
     */
    static ServerTrust knownHosts(KnownHosts file, boolean acceptNew) {
        return (host, port, seen) -> {
            String recorded = file.lookup(host, port);
            if (recorded != null) {
                return recorded.equals(seen) ? null
                        : "the server's key " + seen + " differs from the key recorded for "
                          + KnownHosts.endpoint(host, port) + " (" + recorded + "): it may be an impostor";
            }
            if (!acceptNew) {
                return "the server " + KnownHosts.endpoint(host, port) + " is not in the known-hosts file; its key is "
                        + seen + " (compare it with the server's, then accept it)";
            }
            try {
                file.add(host, port, seen);
            } catch (IOException error) {
                throw new UncheckedIOException(error);
            }
            return null;
        };
    }
}
