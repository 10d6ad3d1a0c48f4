import Foundation
import Laboratory
import LaboratoryHTTP
import LaboratoryTestSupport
import NIOSSL
import Testing

/// The HTTP listener's own TLS (swift-nio-ssl), with a certificate the `openssl` command makes.
@Suite("HTTP listener over TLS", .timeLimit(.minutes(1)))
struct HTTPTLSTests {
    /// A self-signed certificate for 127.0.0.1 and its key, in a fresh folder.
    static func selfSigned() throws -> (certificate: String, key: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let certificate = folder + "/cert.pem"
        let key = folder + "/key.pem"
        _ = try runToolChecked([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key, "-out",
            certificate, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        return (certificate, key)
    }

    @Test("with a certificate it serves HTTPS; a client that trusts it gets /health, plain HTTP gets nothing")
    func servesHTTPS() async throws {
        let (certificate, key) = try Self.selfSigned()
        var configuration = HTTPConfiguration(port: 0)
        configuration.tls = try HTTPConfiguration.serverTLS(certificateChainFile: certificate, privateKeyFile: key)
        let http = HTTPListener(configuration: configuration)
        try await LiveServer.with(listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            var client = TLSConfiguration.makeClientConfiguration()
            client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
            client.certificateVerification = .noHostnameVerification
            let health = try await plainHTTPRequest("/health", port: port, tls: client)
            #expect(health.status == 200)
            #expect(health.body == "ok\n")
            // A client that does not trust the certificate is refused by its own verification.
            await #expect(throws: (any Error).self) {
                _ = try await plainHTTPRequest("/health", port: port, tls: .makeClientConfiguration())
            }
            // Plain HTTP to the TLS port gets no HTTP answer.
            await #expect(throws: (any Error).self) {
                _ = try await plainHTTPRequest("/health", port: port)
            }
        }
    }

    @Test("a missing or malformed certificate or key is one line naming the file")
    func badFiles() throws {
        let (certificate, key) = try Self.selfSigned()
        let keyAsCertificate = Result { () throws(HTTPTLSFileError) in
            try HTTPConfiguration.serverTLS(certificateChainFile: certificate, privateKeyFile: certificate)
        }
        guard case .failure(let notAKey) = keyAsCertificate else {
            Issue.record("a certificate given as the key was accepted")
            return
        }
        #expect(notAKey.path == certificate)
        #expect(notAKey.description.hasPrefix("the HTTP listener's TLS private key \(certificate) is not a PEM"))
        #expect(!notAKey.description.contains("\n"))
        let missing = Result { () throws(HTTPTLSFileError) in
            try HTTPConfiguration.serverTLS(certificateChainFile: "/nonexistent/cert.pem", privateKeyFile: key)
        }
        guard case .failure(let noFile) = missing else {
            Issue.record("a missing certificate was accepted")
            return
        }
        #expect(noFile.description == "the HTTP listener's TLS certificate chain /nonexistent/cert.pem does not exist")
    }

    @Test(
        "laboratory-server --http-tls-certificate/--http-tls-key serves HTTPS; curl with the certificate gets /health")
    func executable() async throws {
        let (certificate, key) = try Self.selfSigned()
        let server = try ServerProcess(
            arguments: ["--http-port", "0", "--http-tls-certificate", certificate, "--http-tls-key", key],
            environment: ["LABORATORY_PASSWORD": "tls listener password"])
        let httpLine = try #require(await server.value(after: "HTTP listening on 127.0.0.1:"))
        let httpPort = try #require(Int(httpLine.prefix { $0.isNumber }))
        let health = try runTool([
            "curl", "-sS", "--max-time", "10", "--cacert", certificate, "https://127.0.0.1:\(httpPort)/health",
        ])
        #expect(health.status == 0, "\(health.standardError)")
        #expect(health.text == "ok\n")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)

        let missingKey = try ServerProcess(
            arguments: ["--http-port", "0", "--http-tls-certificate", certificate, "--http-tls-key", key + ".missing"],
            environment: ["LABORATORY_PASSWORD": "tls listener password"])
        let exit = await missingKey.waitForExit()
        #expect(exit.status == 66)
        #expect(
            exit.stderr == "laboratory-server: the HTTP listener's TLS private key \(key).missing does not exist\n",
            "\(exit.stderr)")
        let alone = try ServerProcess(
            arguments: ["--http-port", "0", "--http-tls-certificate", certificate],
            environment: ["LABORATORY_PASSWORD": "tls listener password"])
        let usage = await alone.waitForExit()
        #expect(usage.status == 64)
        #expect(usage.stderr == "laboratory-server: --http-tls-certificate needs --http-tls-key\n", "\(usage.stderr)")
    }
}
