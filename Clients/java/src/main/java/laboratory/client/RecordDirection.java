package laboratory.client;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * One direction of the record layer (PROTOCOL.md §7, §8): AES-256-GCM under a key and IV, with a
 * frame counter from 0; the nonce is the IV with the counter XORed into its last 8 bytes. A key
 * update replaces key and IV and restarts the counter. Not thread-safe: the session seals under
 * its write lock and opens on its one reader thread.
 */
public final class RecordDirection {
    /** The tag every sealed frame carries. */
    public static final int TAG_LENGTH = 16;
    /** The 24-byte HKDF info of a key update. */
    static final byte[] KEY_UPDATE_INFO = "laboratory v1 key update".getBytes(StandardCharsets.US_ASCII);

    private byte[] key;
    private byte[] iv;
    private long counter;
    private long bytes;
    private Cipher cipher;

    /** A direction starting at counter 0 under this key and IV. */
    public RecordDirection(byte[] key, byte[] iv) {
        this.key = key.clone();
        this.iv = iv.clone();
    }

    /** The nonce for a counter: the IV with the counter's 8 big-endian bytes XORed into bytes 4 to 11. */
    public static byte[] nonce(byte[] iv, long counter) {
        byte[] nonce = iv.clone();
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] ^= (byte) (counter >>> (56 - 8 * i));
        }
        return nonce;
    }

    /** The current key (the salt of the next update). */
    public byte[] key() {
        return key.clone();
    }

    /** Frames sealed or opened under the current key. */
    public long counter() {
        return counter;
    }

    /** Message bytes sealed or opened under the current key. */
    public long byteCount() {
        return bytes;
    }

    private Cipher cipher(int mode) throws GeneralSecurityException {
        if (counter == -1L) {
            throw new GeneralSecurityException("the frame counter is exhausted");
        }
        if (cipher == null) {
            cipher = Cipher.getInstance("AES/GCM/NoPadding");
        }
        cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_LENGTH * 8, nonce(iv, counter)));
        return cipher;
    }

    /** Seals a message: ciphertext then tag; advances the counter. */
    public byte[] seal(byte[] message) {
        try {
            byte[] sealed = cipher(Cipher.ENCRYPT_MODE).doFinal(message);
            counter++;
            bytes += message.length;
            return sealed;
        } catch (GeneralSecurityException error) {
            throw new IllegalStateException("AES-256-GCM sealing failed", error);
        }
    }

    /**
     * Opens a sealed payload; a payload that does not authenticate (tampered, replayed, reordered,
     * shorter than the tag, other keys) is a {@link LaboratoryException.Kind#DECRYPTION_FAILED}
     * and does not advance the counter.
     */
    public byte[] open(byte[] payload) throws LaboratoryException {
        if (payload.length < TAG_LENGTH) {
            throw new LaboratoryException(LaboratoryException.Kind.DECRYPTION_FAILED, "a sealed frame shorter than its tag");
        }
        try {
            byte[] message = cipher(Cipher.DECRYPT_MODE).doFinal(payload);
            counter++;
            bytes += message.length;
            return message;
        } catch (AEADBadTagException error) {
            throw new LaboratoryException(LaboratoryException.Kind.DECRYPTION_FAILED, "a frame did not authenticate");
        } catch (GeneralSecurityException error) {
            throw new LaboratoryException(LaboratoryException.Kind.DECRYPTION_FAILED,
                    "a frame did not open: " + error.getMessage(), null, error);
        }
    }

    /**
     * Applies a key update (§8): new key and IV from HKDF-SHA256(IKM = secret, salt = current key,
     * info = "laboratory v1 key update", L = 44), counter and byte count back to 0.
     */
    public void update(byte[] secret) {
        byte[] okm = updatedKeyMaterial(secret, key);
        key = Arrays.copyOfRange(okm, 0, 32);
        iv = Arrays.copyOfRange(okm, 32, 44);
        counter = 0;
        bytes = 0;
    }

    /** The 44 bytes of a key update: new key (32) then new IV (12). */
    public static byte[] updatedKeyMaterial(byte[] secret, byte[] currentKey) {
        return Hkdf.derive(secret, currentKey, KEY_UPDATE_INFO, 44);
    }
}
