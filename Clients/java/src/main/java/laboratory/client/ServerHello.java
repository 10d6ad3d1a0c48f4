package laboratory.client;

import java.nio.charset.StandardCharsets;

/**
 * The server's hello (PROTOCOL.md §4): identity key, transport key, its validity window and
 * certificate signature, and the server random. Keep {@link #payload} exactly as received: the
 * key derivation hashes it.
 */
public final class ServerHello {
    /** The label the certificate's signed bytes start with. */
    static final byte[] CERTIFICATE_LABEL = "laboratory v1 transport key".getBytes(StandardCharsets.US_ASCII);

    /** The exact payload bytes, for the key derivation. */
    public final byte[] payload;
    /** The identity key, DER SubjectPublicKeyInfo, exactly as sent. */
    public final byte[] identitySpki;
    /** The transport key, DER SubjectPublicKeyInfo. */
    public final byte[] transportSpki;
    /** Start of the transport key's validity, milliseconds since 1970 (a {@code u64}). */
    public final long notBefore;
    /** End of its validity, same unit. */
    public final long notAfter;
    /** The identity key's RSA-PSS signature over {@link #certificateBytes()}. */
    public final byte[] signature;
    /** 32 fresh bytes, the key derivation's salt. */
    public final byte[] serverRandom;

    private ServerHello(byte[] payload, byte[] identitySpki, byte[] transportSpki, long notBefore, long notAfter,
            byte[] signature, byte[] serverRandom) {
        this.payload = payload;
        this.identitySpki = identitySpki;
        this.transportSpki = transportSpki;
        this.notBefore = notBefore;
        this.notAfter = notAfter;
        this.signature = signature;
        this.serverRandom = serverRandom;
    }

    /** Parses a hello strictly: magic {@code LABR}, version 1, no trailing bytes. */
    public static ServerHello parse(byte[] payload) throws LaboratoryException {
        ByteReader reader = new ByteReader(payload);
        byte[] magic = reader.fixed(4, "the hello's magic");
        if (magic[0] != 'L' || magic[1] != 'A' || magic[2] != 'B' || magic[3] != 'R') {
            throw ByteReader.violation("not a Laboratory server (the first frame is not a hello)");
        }
        int version = reader.u16("the hello's version");
        if (version != 1) {
            throw ByteReader.violation("the server speaks protocol version " + version + ", this client 1");
        }
        byte[] identity = reader.fixed(reader.u16("the identity key"), "the identity key");
        byte[] transport = reader.fixed(reader.u16("the transport key"), "the transport key");
        long notBefore = reader.u64("not_before");
        long notAfter = reader.u64("not_after");
        byte[] signature = reader.fixed(reader.u16("the signature"), "the signature");
        byte[] random = reader.fixed(32, "the server random");
        reader.finish("the hello");
        return new ServerHello(payload.clone(), identity, transport, notBefore, notAfter, signature, random);
    }

    /** The bytes the identity key signs: label, transport key length and SPKI, the window. */
    public byte[] certificateBytes() {
        return certificateBytes(transportSpki, notBefore, notAfter);
    }

    /** The certificate's signed bytes for these values. */
    public static byte[] certificateBytes(byte[] transportSpki, long notBefore, long notAfter) {
        return new ByteWriter().raw(CERTIFICATE_LABEL).u16(transportSpki.length).raw(transportSpki)
                .u64(notBefore).u64(notAfter).toByteArray();
    }
}
