import Foundation
import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryTestSupport
import Testing

/// Checks against the `openssl` command-line tool, run as a separate process.
@Suite("RSA interoperability with the openssl CLI")
struct RSAInteropTests {
    static let oaepSHA256 = [
        "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256",
    ]

    @Test("openssl encrypts with our public key; we decrypt")
    func opensslEncryptsWeDecrypt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity
        let secret = try SecureRandom.bytes(count: 32)
        let publicPath = try directory.write("public.pem", try key.publicKey.pem)
        let plainPath = try directory.write("secret.bin", secret)
        _ = try runToolChecked(
            [
                "openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", publicPath, "-in", plainPath,
                "-out", directory.path("secret.enc"),
            ] + Self.oaepSHA256)
        let ciphertext = try directory.read("secret.enc")
        #expect(ciphertext.count == 256)
        #expect(try key.decryptOAEP(ciphertext) == secret)
    }

    // The mirror of opensslEncryptsWeDecrypt, kept apart so that a failure names the direction.
    @Test("We encrypt; openssl decrypts with our PKCS#8 private key")
    func weEncryptOpensslDecrypts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity
        let secret = try SecureRandom.bytes(count: 32)
        let privatePath = try directory.write("private.pem", try key.pkcs8PEM)
        let cipherPath = try directory.write("secret.enc", try key.publicKey.encryptOAEP(secret))
        let result = try runToolChecked(
            ["openssl", "pkeyutl", "-decrypt", "-inkey", privatePath, "-in", cipherPath] + Self.oaepSHA256)
        #expect(result.standardOutput == secret)
    }

    @Test("OAEP with SHA-1 (openssl's default) does not decrypt: we really use SHA-256")
    func sha1OAEPIsRejected() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity
        let publicPath = try directory.write("public.pem", try key.publicKey.pem)
        let plainPath = try directory.write("secret.bin", try SecureRandom.bytes(count: 32))
        _ = try runToolChecked(
            [
                "openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", publicPath, "-in", plainPath,
                "-out", directory.path("secret.enc"), "-pkeyopt", "rsa_padding_mode:oaep",
            ])
        let ciphertext = try directory.read("secret.enc")
        #expect(throws: CryptoError.self) { try key.decryptOAEP(ciphertext) }
    }

    @Test("A traditional RSA PRIVATE KEY PEM written by openssl loads as the same key")
    func traditionalPEM() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity
        let privatePath = try directory.write("private.pem", try key.pkcs8PEM)
        let traditional = try runToolChecked(["openssl", "pkey", "-in", privatePath, "-traditional"]).text
        #expect(traditional.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        let reloaded = try RSAPrivateKey(pem: traditional)
        #expect(reloaded.publicKey.spkiDER == key.publicKey.spkiDER)
    }

    @Test("The fingerprint matches openssl pkey | openssl dgst -sha256 -binary | base64")
    func fingerprintMatchesOpenssl() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for key in [TestKeys.identity.publicKey, try RSAPrivateKey(bitCount: 3072).publicKey] {
            let publicPath = try directory.write("public.pem", try key.pem)
            let output = try runToolChecked([
                "sh", "-c",
                "openssl pkey -pubin -in \"$1\" -outform DER | openssl dgst -sha256 -binary | base64",
                "sh", publicPath,
            ]).text
            var expected = output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(expected.count == 44)
            while expected.hasSuffix("=") { expected.removeLast() }
            #expect(key.fingerprint == "SHA256:" + expected)
            #expect(!key.fingerprint.contains("="))
        }
    }

    /// The command PROTOCOL.md §4 gives operators, run on a host key file as the server stores it.
    static let fingerprintCommand =
        "openssl pkey -in \"$1\" -pubout -outform DER | openssl dgst -sha256 -binary | base64 | tr -d '='"

    @Test("PROTOCOL.md's command line computes the fingerprint from the host key file")
    func documentedCommand() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity
        let path = try directory.write("host_key.pem", try key.pkcs8PEM)
        let output = try runToolChecked(["sh", "-c", Self.fingerprintCommand, "sh", path]).text
        #expect("SHA256:" + output.trimmingCharacters(in: .newlines) == key.publicKey.fingerprint)
        let document = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Docs/PROTOCOL.md"), encoding: .utf8)
        #expect(document.contains(Self.fingerprintCommand.replacingOccurrences(of: "\"$1\"", with: "host_key.pem")))
    }

    @Test(
        "ssh-keygen -l prints another value: SHA-256 of the SSH key blob, not of the SPKI",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen")))
    func sshKeygenDiffers() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity.publicKey
        let pemPath = try directory.write("public.pem", try key.pem)
        let sshLine = try runToolChecked(["ssh-keygen", "-i", "-m", "PKCS8", "-f", pemPath]).text
        let sshPath = try directory.write("key.pub", sshLine)
        let printed = try runToolChecked(["ssh-keygen", "-l", "-E", "sha256", "-f", sshPath]).text
        let sshFingerprint = try #require(printed.split(separator: " ").dropFirst().first.map(String.init))
        #expect(sshFingerprint.hasPrefix("SHA256:"))
        #expect(sshFingerprint != key.fingerprint)
        // What ssh-keygen hashes: the base64 blob of the `ssh-rsa AAAA...` line.
        let blob = try #require(
            Data(base64Encoded: sshLine.split(separator: " ")[1].trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(sshFingerprint == "SHA256:" + Base64.encode(SHA256.hash(Array(blob)), padding: false))
    }

    @Test("The SPKI we produce is byte-identical to openssl's DER for the same key")
    func spkiMatchesOpenssl() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = TestKeys.identity
        let privatePath = try directory.write("private.pem", try key.pkcs8PEM)
        let der = try runToolChecked(["openssl", "pkey", "-in", privatePath, "-pubout", "-outform", "DER"])
        #expect(der.standardOutput == key.publicKey.spkiDER)
    }

    /// Run from an interactive terminal, this test used to stop at OpenSSL's "Enter PEM pass
    /// phrase:" prompt: with no callback, `PEM_read_bio_PrivateKey` asks on `/dev/tty`.
    @Test("An encrypted PKCS#8 PEM is refused without asking for a passphrase")
    func encryptedPEMRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let privatePath = try directory.write("private.pem", try TestKeys.identity.pkcs8PEM)
        let encrypted = try runToolChecked([
            "openssl", "pkcs8", "-topk8", "-in", privatePath, "-v2", "aes-256-cbc", "-passout", "pass:secret",
        ]).text
        #expect(encrypted.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        let error = try #require(throws: CryptoError.self) { try RSAPrivateKey(pem: encrypted) }
        #expect(error.operation == "PEM private key decode")
        #expect(!error.reason.isEmpty)
    }

    @Test("A 1024-bit RSA key from openssl genpkey is refused, private and public")
    func rsa1024Refused() throws {
        let pem = try runToolChecked([
            "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
        ]).text
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let privateError = try #require(throws: CryptoError.self) { try RSAPrivateKey(pem: pem) }
        #expect(privateError.isSameKind(as: .invalidArgumentFailure))
        #expect(privateError.reason.contains("1024"))

        let publicKey = try opensslPublicKey(of: pem)
        let publicError = try #require(throws: CryptoError.self) { try RSAPublicKey(pem: publicKey.pem) }
        #expect(publicError.isSameKind(as: .invalidArgumentFailure))
        #expect(throws: CryptoError.self) { try RSAPublicKey(spkiDER: publicKey.der) }
    }

    @Test("A P-256 EC key is refused as not RSA, private and public")
    func ecKeyRefused() throws {
        let pem = try runToolChecked([
            "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        ]).text
        let privateError = try #require(throws: CryptoError.self) { try RSAPrivateKey(pem: pem) }
        #expect(privateError.isSameKind(as: .invalidArgumentFailure))
        #expect(privateError.reason.contains("not an RSA key"))

        let publicKey = try opensslPublicKey(of: pem)
        let publicError = try #require(throws: CryptoError.self) { try RSAPublicKey(pem: publicKey.pem) }
        #expect(publicError.reason.contains("not an RSA key"))
        let derError = try #require(throws: CryptoError.self) { try RSAPublicKey(spkiDER: publicKey.der) }
        #expect(derError.operation == "SPKI decode")
    }

    /// The public half of `privatePEM` as openssl writes it, in PEM and in DER.
    private func opensslPublicKey(of privatePEM: String) throws -> (pem: String, der: [UInt8]) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("private.pem", privatePEM)
        let pem = try runToolChecked(["openssl", "pkey", "-in", path, "-pubout"]).text
        let der = try runToolChecked(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"]).standardOutput
        return (pem, der)
    }
}
