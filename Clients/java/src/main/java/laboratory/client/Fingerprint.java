package laboratory.client;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * Identity key fingerprints (PROTOCOL.md §4): {@code SHA256:} and the unpadded standard base64 of
 * the SHA-256 of the key's DER SubjectPublicKeyInfo, exactly as the hello carries it. Always shown
 * whole; a pin in any other form is refused as malformed.
 */
public final class Fingerprint {
    private Fingerprint() {}

    /** The fingerprint of an identity key's SPKI bytes. */
    public static String of(byte[] spki) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(spki);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException error) {
            throw new IllegalStateException("SHA-256 is unavailable", error);
        }
    }

    /** Whether {@code text} has the form of a fingerprint: {@code SHA256:} and 43 base64 characters of 32 bytes. */
    public static boolean isWellFormed(String text) {
        if (!text.startsWith("SHA256:") || text.length() != 7 + 43) {
            return false;
        }
        for (int i = 7; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean base64 = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/';
            if (!base64) {
                return false;
            }
        }
        // 32 bytes in 43 characters leave 2 bits over, which canonical base64 writes as zeros.
        int last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".indexOf(text.charAt(49));
        return (last & 0b11) == 0;
    }

    /** {@code text} if it is a well-formed fingerprint, else an {@link IllegalArgumentException}. */
    public static String requireWellFormed(String text) {
        if (!isWellFormed(text)) {
            throw new IllegalArgumentException(text + " is not a key fingerprint (SHA256: and 43 base64 characters)");
        }
        return text;
    }
}
