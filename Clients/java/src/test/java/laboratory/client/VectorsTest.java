package laboratory.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Every test vector of Docs/PROTOCOL.md against this implementation; the last check fails if one went unused. */
class VectorsTest {
    private static final Map<String, byte[]> VECTORS = ProtocolDocument.vectors();
    private static final Set<String> USED = new HashSet<>();

    private static byte[] v(String name) {
        byte[] value = VECTORS.get(name);
        if (value == null) {
            throw new AssertionError("no vector " + name + " in PROTOCOL.md");
        }
        USED.add(name);
        return value.clone();
    }

    private static long u64(String name) {
        long value = 0;
        for (byte b : v(name)) {
            value = value << 8 | b & 0xff;
        }
        return value;
    }

    private static byte[] unprefixed(byte[] frame) {
        assertEquals(frame.length - 4, (frame[0] & 0xff) << 24 | (frame[1] & 0xff) << 16 | (frame[2] & 0xff) << 8 | frame[3] & 0xff);
        return Arrays.copyOfRange(frame, 4, frame.length);
    }

    @AfterAll
    static void everyVectorIsChecked() {
        Set<String> unused = new TreeSet<>(VECTORS.keySet());
        unused.removeAll(USED);
        assertTrue(unused.isEmpty(), "vectors no test checks: " + unused);
        assertTrue(VECTORS.size() >= 40, "PROTOCOL.md holds " + VECTORS.size() + " vectors");
    }

    @Test
    void inputs() {
        byte[] secret = v("secret");
        byte[] random = v("server_random");
        for (int i = 0; i < 32; i++) {
            assertEquals(i, secret[i]);
            assertEquals(0x20 + i, random[i]);
        }
        assertEquals(1_767_225_600_000L, u64("not_before"));
        assertEquals(u64("not_before") + 630_000, u64("not_after"));
    }

    @Test
    void identityFingerprintAsDocumented() {
        Matcher matcher = Pattern.compile("SHA256:[A-Za-z0-9+/]{43}").matcher(ProtocolDocument.text());
        Set<String> documented = new HashSet<>();
        while (matcher.find()) {
            documented.add(matcher.group());
        }
        assertEquals(Set.of(Fingerprint.of(v("identity_spki"))), documented);
        assertTrue(Fingerprint.isWellFormed(Fingerprint.of(v("identity_spki"))));
    }

    @Test
    void bothKeysAre2048BitRsa() throws Exception {
        assertEquals(2048, RsaKeys.load(v("identity_spki")).getModulus().bitLength());
        assertEquals(2048, RsaKeys.load(v("transport_spki")).getModulus().bitLength());
    }

    @Test
    void certificate() throws Exception {
        byte[] signed = ServerHello.certificateBytes(v("transport_spki"), u64("not_before"), u64("not_after"));
        assertArrayEquals(v("transport_key_signed_bytes"), signed);
        var identity = RsaKeys.load(v("identity_spki"));
        assertTrue(RsaKeys.verifyPss(identity, signed, v("transport_key_signature")));
        byte[] changed = signed.clone();
        changed[changed.length - 1] ^= 1;
        assertFalse(RsaKeys.verifyPss(identity, changed, v("transport_key_signature")));
        byte[] signature = v("transport_key_signature");
        signature[10] ^= 1;
        assertFalse(RsaKeys.verifyPss(identity, signed, signature));
        assertFalse(RsaKeys.verifyPss(RsaKeys.load(v("transport_spki")), signed, v("transport_key_signature")),
                "signed by the other key");
    }

    @Test
    void hello() throws Exception {
        byte[] payload = v("hello_payload");
        assertEquals(904, payload.length);
        assertArrayEquals(v("hello_length_prefix"), Arrays.copyOf(Framing.encode(payload), 4));
        assertArrayEquals(v("hello_sha256"), MessageDigest.getInstance("SHA-256").digest(payload));
        ServerHello hello = ServerHello.parse(payload);
        assertArrayEquals(v("identity_spki"), hello.identitySpki);
        assertArrayEquals(v("transport_spki"), hello.transportSpki);
        assertEquals(u64("not_before"), hello.notBefore);
        assertEquals(u64("not_after"), hello.notAfter);
        assertArrayEquals(v("transport_key_signature"), hello.signature);
        assertArrayEquals(v("server_random"), hello.serverRandom);
        assertArrayEquals(v("transport_key_signed_bytes"), hello.certificateBytes());
        byte[] trailing = Arrays.copyOf(payload, payload.length + 1);
        assertThrows(LaboratoryException.class, () -> ServerHello.parse(trailing));
        byte[] magic = payload.clone();
        magic[3] = 'X';
        assertThrows(LaboratoryException.class, () -> ServerHello.parse(magic));
        byte[] version = payload.clone();
        version[5] = 2;
        assertThrows(LaboratoryException.class, () -> ServerHello.parse(version));
        for (int cut = 0; cut < payload.length; cut += 97) {
            byte[] shortened = Arrays.copyOf(payload, cut);
            assertThrows(LaboratoryException.class, () -> ServerHello.parse(shortened));
        }
    }

    @Test
    void keySchedule() {
        assertArrayEquals(v("hkdf_info"), SessionKeys.info(v("hello_payload")));
        assertArrayEquals(v("okm"), Hkdf.derive(v("secret"), v("server_random"), v("hkdf_info"), 88));
        SessionKeys keys = SessionKeys.derive(v("secret"), v("server_random"), v("hello_payload"));
        assertArrayEquals(v("c2s_key"), keys.c2sKey);
        assertArrayEquals(v("s2c_key"), keys.s2cKey);
        assertArrayEquals(v("c2s_iv"), keys.c2sIv);
        assertArrayEquals(v("s2c_iv"), keys.s2cIv);
    }

    @Test
    void nonces() {
        assertArrayEquals(v("c2s_nonce_0"), RecordDirection.nonce(v("c2s_iv"), 0));
        assertArrayEquals(v("c2s_nonce_1"), RecordDirection.nonce(v("c2s_iv"), 1));
        assertArrayEquals(v("c2s_nonce_2"), RecordDirection.nonce(v("c2s_iv"), 2));
        assertArrayEquals(v("s2c_nonce_0"), RecordDirection.nonce(v("s2c_iv"), 0));
        assertArrayEquals(v("s2c_nonce_1"), RecordDirection.nonce(v("s2c_iv"), 1));
        assertArrayEquals(v("s2c_nonce_0102030405060708"), RecordDirection.nonce(v("s2c_iv"), 0x0102030405060708L));
    }

    /** The documented handshake, driven through the state machine: every frame it produces or opens. */
    @Test
    void sealedHandshakeThroughTheStateMachine() throws Exception {
        ClientHandshake machine = new ClientHandshake("correct horse battery staple", "Ada", false, 600_000);
        List<ClientHandshake.Action> actions = machine.receiveHello(v("hello_payload"), u64("not_before") + 1);
        assertEquals(Fingerprint.of(v("identity_spki")), assertInstanceOf(ClientHandshake.CheckTrust.class, actions.get(0)).fingerprint);
        actions = machine.trustDecided(null, v("secret"));
        byte[] exchange = assertInstanceOf(ClientHandshake.SendPlaintext.class, actions.get(0)).payload;
        assertEquals(256, exchange.length, "the key exchange is exactly the transport key's modulus size");
        SessionKeys keys = assertInstanceOf(ClientHandshake.InstallKeys.class, actions.get(1)).keys;
        assertArrayEquals(v("c2s_key"), keys.c2sKey);
        RecordDirection sealer = new RecordDirection(keys.c2sKey, keys.c2sIv);
        RecordDirection opener = new RecordDirection(keys.s2cKey, keys.s2cIv);

        byte[] prompt = opener.open(unprefixed(v("s2c_0_frame")));
        assertArrayEquals(v("s2c_0_payload"), prompt);
        actions = machine.receive(ServerMessage.decode(prompt));
        byte[] password = assertInstanceOf(ClientHandshake.Send.class, actions.get(0)).message;
        assertArrayEquals(v("c2s_0_payload"), password);
        assertArrayEquals(v("c2s_0_frame"), Framing.encode(sealer.seal(password)));

        byte[] namePrompt = opener.open(unprefixed(v("s2c_1_frame")));
        assertArrayEquals(v("s2c_1_payload"), namePrompt);
        actions = machine.receive(ServerMessage.decode(namePrompt));
        byte[] name = assertInstanceOf(ClientHandshake.Send.class, actions.get(0)).message;
        assertArrayEquals(v("c2s_1_payload"), name);
        assertArrayEquals(v("c2s_1_frame"), Framing.encode(sealer.seal(name)));

        byte[] accepted = opener.open(unprefixed(v("s2c_2_frame")));
        assertArrayEquals(v("s2c_2_payload"), accepted);
        actions = machine.receive(ServerMessage.decode(accepted));
        ServerMessage.Accepted acceptance = assertInstanceOf(ClientHandshake.Accepted.class, actions.get(0)).acceptance;
        assertEquals(1, acceptance.connectionId);
        assertEquals("Laboratory", acceptance.serverName);
        assertEquals(List.of("echo"), acceptance.services);
        assertEquals(ClientHandshake.State.ACCEPTED, machine.state());

        // The session continues with the key update vectors: counter 2 under c2s_key.
        byte[] update = ClientMessage.keyUpdate(v("key_update_secret"), true);
        assertArrayEquals(v("c2s_2_payload"), update);
        assertArrayEquals(v("c2s_2_frame"), Framing.encode(sealer.seal(update)));
        assertArrayEquals(v("key_update_info"), RecordDirection.KEY_UPDATE_INFO);
        byte[] okm = RecordDirection.updatedKeyMaterial(v("key_update_secret"), v("c2s_key"));
        assertArrayEquals(v("key_update_okm"), okm);
        assertArrayEquals(v("updated_c2s_key"), Arrays.copyOfRange(okm, 0, 32));
        assertArrayEquals(v("updated_c2s_iv"), Arrays.copyOfRange(okm, 32, 44));
        sealer.update(v("key_update_secret"));
        assertArrayEquals(v("updated_c2s_key"), sealer.key());
        assertEquals(0, sealer.counter());
        byte[] ping = ClientMessage.ping(1);
        assertArrayEquals(v("updated_c2s_0_payload"), ping);
        assertArrayEquals(v("updated_c2s_0_frame"), Framing.encode(sealer.seal(ping)));
    }

    /** The server's side of the same frames, opened the other way round, so a sealing bug cannot hide. */
    @Test
    void clientFramesOpenWithTheServersKeys() throws Exception {
        RecordDirection serverOpener = new RecordDirection(v("c2s_key"), v("c2s_iv"));
        assertArrayEquals(v("c2s_0_payload"), serverOpener.open(unprefixed(v("c2s_0_frame"))));
        assertArrayEquals(v("c2s_1_payload"), serverOpener.open(unprefixed(v("c2s_1_frame"))));
        assertArrayEquals(v("c2s_2_payload"), serverOpener.open(unprefixed(v("c2s_2_frame"))));
        serverOpener.update(v("key_update_secret"));
        assertArrayEquals(v("updated_c2s_0_payload"), serverOpener.open(unprefixed(v("updated_c2s_0_frame"))));
        RecordDirection serverSealer = new RecordDirection(v("s2c_key"), v("s2c_iv"));
        assertArrayEquals(v("s2c_0_frame"), Framing.encode(serverSealer.seal(v("s2c_0_payload"))));
        assertArrayEquals(v("s2c_1_frame"), Framing.encode(serverSealer.seal(v("s2c_1_payload"))));
        assertArrayEquals(v("s2c_2_frame"), Framing.encode(serverSealer.seal(v("s2c_2_payload"))));
    }

    @Test
    void unsealedFrames() throws Exception {
        assertArrayEquals(v("plaintext_key_exchange_frame"), Framing.encode(new byte[0]));
        assertArrayEquals(v("request_frame"), Framing.encode(ClientMessage.request(1, "echo", "hi".getBytes(StandardCharsets.UTF_8))));
        ServerMessage.Response response = assertInstanceOf(ServerMessage.Response.class,
                ServerMessage.decode(unprefixed(v("response_frame"))));
        assertEquals(1, response.requestId);
        assertEquals(0, response.status);
        assertEquals("", response.errorMessage);
        assertArrayEquals("hi".getBytes(StandardCharsets.UTF_8), response.body);
        CloseReason closing = assertInstanceOf(ServerMessage.Closing.class, ServerMessage.decode(unprefixed(v("closing_frame")))).reason;
        assertEquals(6, closing.code);
        assertEquals("wrong password", closing.message);
        assertEquals(-1, closing.retryMillis);
        byte[] refusal = unprefixed(v("refusal_frame"));
        assertEquals(0x04, refusal[0]);
        CloseReason refused = assertInstanceOf(ServerMessage.Closing.class, ServerMessage.decode(refusal)).reason;
        assertEquals(15, refused.code);
        assertEquals("too many failures from your address; try again in 4m 30s", refused.message);
        assertEquals(270_000, refused.retryMillis);
        assertEquals("4m 30s", CloseReason.spokenDuration(refused.retryMillis));
        ServerMessage.NameRejected rejected = assertInstanceOf(ServerMessage.NameRejected.class,
                ServerMessage.decode(unprefixed(v("name_rejected_frame"))));
        assertEquals("display name is empty", rejected.reason);
        assertEquals(2, rejected.attemptsLeft);
    }

    @Test
    void refusalInsteadOfTheHelloEndsTheHandshake() {
        ClientHandshake machine = new ClientHandshake("pw", "Ada", false, 600_000);
        ClientHandshake.HandshakeException failure = assertThrows(ClientHandshake.HandshakeException.class,
                () -> machine.receiveHello(unprefixed(v("refusal_frame")), 0));
        assertEquals(LaboratoryException.Kind.CLOSED_BY_SERVER, failure.kind());
        assertEquals(270_000, failure.retryAfterMillis());
        assertEquals(ClientHandshake.State.FAILED, machine.state());
    }
}
