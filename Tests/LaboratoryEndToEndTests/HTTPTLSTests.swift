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
        #expect(throws: HTTPTLSFileError.self) {
            try HTTPConfiguration.serverTLS(certificateChainFile: "/nonexistent/cert.pem", privateKeyFile: key)
        }
        do {
            _ = try HTTPConfiguration.serverTLS(certificateChainFile: certificate, privateKeyFile: certificate)
            Issue.record("a certificate given as the key was accepted")
        } catch let error as HTTPTLSFileError {
            #expect(error.path == certificate)
            #expect(error.description.hasPrefix("the HTTP listener's TLS private key \(certificate) is not a PEM"))
            #expect(!error.description.contains("\n"))
        }
        do {
            _ = try HTTPConfiguration.serverTLS(certificateChainFile: "/nonexistent/cert.pem", privateKeyFile: key)
        } catch let error as HTTPTLSFileError {
            #expect(error.description == "the HTTP listener's TLS certificate chain /nonexistent/cert.pem does not exist")
        }
    }
}
