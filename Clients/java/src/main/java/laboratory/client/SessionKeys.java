package laboratory.client;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The four values the key derivation (PROTOCOL.md §6) gives: a key and an IV per direction, from
 * HKDF-SHA256(IKM = secret, salt = server random, info = label || SHA-256(hello payload), L = 88).
 */
public final class SessionKeys {
    /** The 26-byte label the HKDF info starts with. */
    static final byte[] LABEL = "laboratory v1 session keys".getBytes(StandardCharsets.US_ASCII);

    /** AES-256-GCM key, client to server. */
    public final byte[] c2sKey;
    /** AES-256-GCM key, server to client. */
    public final byte[] s2cKey;
    /** 12-byte IV, client to server. */
    public final byte[] c2sIv;
    /** 12-byte IV, server to client. */
    public final byte[] s2cIv;

    private SessionKeys(byte[] okm) {
        c2sKey = Arrays.copyOfRange(okm, 0, 32);
        s2cKey = Arrays.copyOfRange(okm, 32, 64);
        c2sIv = Arrays.copyOfRange(okm, 64, 76);
        s2cIv = Arrays.copyOfRange(okm, 76, 88);
    }

    /** The HKDF info for a hello: the label, then the SHA-256 of the whole hello payload. */
    public static byte[] info(byte[] helloPayload) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(helloPayload);
            return new ByteWriter().raw(LABEL).raw(hash).toByteArray();
        } catch (NoSuchAlgorithmException error) {
            throw new IllegalStateException("SHA-256 is unavailable", error);
        }
    }

    /** Derives the session keys from the client's 32-byte secret and the hello. */
    public static SessionKeys derive(byte[] secret, byte[] serverRandom, byte[] helloPayload) {
        if (secret.length != 32) {
            throw new IllegalArgumentException("the secret is 32 bytes");
        }
        return new SessionKeys(Hkdf.derive(secret, serverRandom, info(helloPayload), 88));
    }
}
