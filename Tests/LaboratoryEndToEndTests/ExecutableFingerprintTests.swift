import Foundation
import Testing

// Opens like every scenario against the executable (AdversarialAbuseTests and others): a suite and a TargetProcess.
extension Adversarial {
    /// A protocol rule only the real executable can show: the fingerprint it prints is the one
    /// PROTOCOL.md's openssl line computes from its key file.
    @Suite("Protocol rules: the executable's fingerprint", .timeLimit(.minutes(1)))
    struct ExecutableFingerprintTests {
        @Test("the executable's printed fingerprint is what PROTOCOL.md's openssl line computes from its key file")
        func fingerprintOfExecutable() async throws {
            let target = try await TargetProcess.start([])
            let keyFile = target.process.stateDirectory + "/host_key.pem"
            let printed = try runToolChecked(["sh", "-c", RSAInteropTests.fingerprintCommand, "sh", keyFile]).text
            #expect("SHA256:" + printed.trimmingCharacters(in: .newlines) == target.fingerprint)
            let session = try await target.connect(name: "pin")
            #expect(session.serverFingerprint == target.fingerprint)
            await session.close()
            await target.stop()
        }
    }
}
