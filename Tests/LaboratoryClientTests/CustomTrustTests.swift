import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import LaboratoryClient

@Suite("Custom server trust")
struct CustomTrustTests {
    /// What the decision was asked, in order.
    private final class Calls: Sendable {
        let seen = NIOLockedValueBox<[String]>([])
    }

    @Test("the decision gets the fingerprint and endpoint; a refusal names both")
    func decides() throws {
        let calls = Calls()
        let trust = ServerTrust.custom { fingerprint, endpoint in
            calls.seen.withLockedValue { $0.append("\(endpoint) \(fingerprint)") }
            return fingerprint == "SHA256:good"
        }
        #expect(try trust.check(fingerprint: "SHA256:good", endpoint: "h:1") == nil)
        let refusal = try #require(try trust.check(fingerprint: "SHA256:bad", endpoint: "h:2"))
        #expect(refusal.contains("SHA256:bad"))
        #expect(refusal.contains("h:2"))
        #expect(calls.seen.withLockedValue { $0 } == ["h:1 SHA256:good", "h:2 SHA256:bad"])
    }
}
