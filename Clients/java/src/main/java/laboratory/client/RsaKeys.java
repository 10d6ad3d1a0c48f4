package laboratory.client;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

/**
 * The RSA operations of the protocol, with every parameter spelled out so that every provider
 * (OpenJDK's SunJCE and SunRsaSign, Android's Conscrypt) computes the same thing: RSAES-OAEP with
 * SHA-256, MGF1-SHA-256 and an empty label (§5), and RSASSA-PSS with SHA-256, MGF1-SHA-256 and a
 * 32-byte salt (§4).
 */
public final class RsaKeys {
    /** The smallest modulus a client accepts, in bits (PROTOCOL.md §4, check 5). */
    public static final int MINIMUM_BITS = 2048;
    /** The largest. */
    public static final int MAXIMUM_BITS = 4096;

    private static final OAEPParameterSpec OAEP = new OAEPParameterSpec(
            "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
    private static final PSSParameterSpec PSS = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);

    private RsaKeys() {}

    /** An RSA public key from DER SubjectPublicKeyInfo, with a modulus of 2048 to 4096 bits. */
    public static RSAPublicKey load(byte[] spki) throws GeneralSecurityException {
        RSAPublicKey key = (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
        BigInteger modulus = key.getModulus();
        int bits = modulus.bitLength();
        if (bits < MINIMUM_BITS || bits > MAXIMUM_BITS) {
            throw new GeneralSecurityException("an RSA key of " + bits + " bits (a client accepts 2048 to 4096)");
        }
        return key;
    }

    /** RSAES-OAEP(SHA-256, MGF1-SHA-256, empty label) of {@code message} to {@code key}. */
    public static byte[] encryptOaep(RSAPublicKey key, byte[] message) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding");
        cipher.init(Cipher.ENCRYPT_MODE, key, OAEP);
        return cipher.doFinal(message);
    }

    /**
     * Whether {@code signature} is a valid RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32) signature.
     * Android names the algorithm {@code SHA256withRSA/PSS} (API 23+), OpenJDK {@code RSASSA-PSS};
     * either way the parameters are set explicitly.
     *
     * @throws IllegalStateException if neither provider algorithm exists
     */
    public static boolean verifyPss(RSAPublicKey key, byte[] message, byte[] signature) {
        Signature verifier;
        try {
            verifier = Signature.getInstance("SHA256withRSA/PSS");
        } catch (NoSuchAlgorithmException notAndroid) {
            try {
                verifier = Signature.getInstance("RSASSA-PSS");
            } catch (NoSuchAlgorithmException error) {
                throw new IllegalStateException("no RSA-PSS signature algorithm is available", error);
            }
        }
        try {
            verifier.setParameter(PSS);
            verifier.initVerify(key);
        } catch (GeneralSecurityException error) {
            throw new IllegalStateException("RSA-PSS refused its parameters: " + error, error);
        }
        try {
            verifier.update(message);
            return verifier.verify(signature);
        } catch (SignatureException malformed) {
            return false;
        }
    }
}
