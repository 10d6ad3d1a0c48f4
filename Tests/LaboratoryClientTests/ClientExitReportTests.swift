import LaboratoryProtocol
import LaboratoryTransport
import NIOCore
import Testing

@testable import LaboratoryClient

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `laboratory` client's mapping from a library error to its one line and exit status, and
/// the checks behind its other usage failures.
@Suite("Client exit reports")
struct ClientExitReportTests {
    private static func connectFailure(_ error: any Error) -> ClientError {
        var failure = ClientError(.connectionFailed, step: .connecting, "could not connect: \(error)")
        failure.connectFailure = ConnectFailure(classifying: error)
        return failure
    }

    @Test("refused, unknown host and timed out connections have their own words and statuses")
    func connectFailures() throws {
        let refused = ExitReport.client(
            for: Self.connectFailure(IOError(errnoCode: ECONNREFUSED, reason: "connect")), endpoint: "127.0.0.1:9")
        #expect(refused.status == .unavailable)
        #expect(refused.message.hasPrefix("cannot connect to 127.0.0.1:9: connection refused"))

        let resolving = #expect(throws: (any Error).self) {
            try SocketAddress.makeAddressResolvingHost("nohost.invalid", port: 1)
        }
        let unknown = ExitReport.client(
            for: Self.connectFailure(try #require(resolving)), endpoint: "nohost.invalid:1")
        #expect(unknown.status == .noHost)
        #expect(unknown.message.contains("nohost.invalid does not resolve"))

        let timedOut = ExitReport.client(
            for: Self.connectFailure(ChannelError.connectTimeout(.seconds(1))), endpoint: "[::1]:9")
        #expect(timedOut.status == .unavailable && timedOut.message.contains("connect timeout"))
    }

    @Test(
        "each library error code has its status",
        arguments: [
            (ClientError.Code.wrongPassword, ProcessExitStatus.noPermission), (.serverKeyMismatch, .dataError),
            (.handshakeTimeout, .temporaryFailure), (.rejected, .temporaryFailure),
            (.connectionClosed, .temporaryFailure), (.protocolViolation, .protocolError),
            (.decryptionFailed, .protocolError), (.requestFailed, .unavailable),
        ])
    func codes(code: ClientError.Code, status: ProcessExitStatus) {
        let report = ExitReport.client(
            for: ClientError(code, step: .hello, "what\nhappened"), endpoint: "127.0.0.1:12800")
        #expect(report.status == status)
        #expect(!report.message.contains("\n"))
        #expect(report.message.contains("127.0.0.1:12800"))
    }

    @Test("a fingerprint must be SHA256: and 43 base64 characters to be a pin")
    func fingerprintForm() {
        let good = "SHA256:" + String(repeating: "A", count: 42) + "+"
        #expect(ServerTrust.isWellFormed(fingerprint: good))
        for bad in ["", "SHA256:abc", "sha256:" + good.dropFirst(7), good + "=", good.dropLast() + "!", "MD5:" + good] {
            #expect(!ServerTrust.isWellFormed(fingerprint: String(bad)), "\(bad)")
        }
    }

    @Test("a secret file readable by its group or by everyone gets a warning naming it and chmod 600")
    func exposure() {
        #expect(FileExposure.warning(path: "/k", mode: 0o600, what: "the key") == nil)
        #expect(FileExposure.warning(path: "/k", mode: 0o400, what: "the key") == nil)
        let group = FileExposure.warning(path: "/k", mode: 0o640, what: "the key")
        #expect(
            group == "the key /k has mode 640, readable by its group; run chmod 600 on it so only its owner can read it"
        )
        #expect(FileExposure.warning(path: "/k", mode: 0o604, what: "the key")?.contains("all users") == true)
    }
}
