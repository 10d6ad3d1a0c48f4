import Foundation
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

@_spi(Testing) @testable import Laboratory

extension Adversarial {
    /// The name retry (PROTOCOL.md §9) attacked over real sockets: invalid names cannot hold a
    /// connection open past the handshake's deadlines or its attempts, cannot reopen the password
    /// step, and earn no lockout, however many.
    @Suite("Name retry", .timeLimit(.minutes(1)))
    struct NameRetryTests {
        /// A raw client at the name step, the password given.
        static func atNameStep(_ live: LiveServer, from source: String? = nil) async throws -> RawClient {
            var raw = try await RawClient.connect(port: live.port, from: source)
            try await raw.toName(password: LiveServer.password)
            return raw
        }

        @Test("invalid names, each just inside the step deadline, end at the handshake deadline or the last attempt")
        func boundedInTime() async throws {
            // Step 0.8 s, handshake 1.5 s, 3 attempts: a name every 0.6 s gets two rejections,
            // then the handshake deadline (1.5 s) passes before the third could be sent.
            let tweak = Tweak {
                $0.handshakeStepTimeout = .milliseconds(800)
                $0.handshakeTimeout = .milliseconds(1500)
            }
            try await LiveServer.with(tweak) { live in
                let start = ContinuousClock.now
                var raw = try await Self.atNameStep(live)
                var rejections = 0
                var close: CloseReason?
                while close == nil {
                    try await Task.sleep(for: .milliseconds(600))
                    _ = try? await raw.send(.name(""))
                    switch try await raw.receive() {
                    case .nameRejected?: rejections += 1
                    case .closing(let reason)?: close = reason
                    case let other:
                        Issue.record("unexpected \(String(describing: other))")
                        return
                    }
                }
                let elapsed = ContinuousClock.now - start
                #expect(close?.code == .handshakeTimeout || close?.code == .invalidName, "\(String(describing: close))")
                #expect(rejections <= 2)
                #expect(elapsed < Sanitizer.slack(.seconds(3)), "the connection outlived the handshake deadline")
                await raw.close()
            }
        }

        @Test("after a rejected name, a password is a protocol violation (code 2), not a second guess")
        func passwordNotRepeatable() async throws {
            try await LiveServer.with { live in
                var raw = try await Self.atNameStep(live)
                _ = try await raw.send(.name(""))
                guard case .nameRejected? = try await raw.receive() else {
                    Issue.record("no nameRejected")
                    return
                }
                _ = try await raw.send(.password(LiveServer.password))
                #expect(try await raw.closeReason()?.code == .protocolViolation)
            }
        }

        @Test("30 connections of invalid names from one address earn it no penalty and no refusal")
        func noLockout() async throws {
            try await LiveServer.with { live in
                for round in 0..<30 {
                    var raw = try await RawClient.connect(port: live.port, from: "127.0.0.3")
                    guard case .some = try? await raw.readHelloAndKeys() else {
                        Issue.record("round \(round): refused")
                        return
                    }
                    _ = try await raw.send(.password(LiveServer.password))
                    guard try await raw.receive() == .namePrompt else {
                        Issue.record("round \(round): no name prompt")
                        return
                    }
                    // Alternate: use up the attempts (code 7), or leave at the name prompt.
                    if round.isMultiple(of: 2) {
                        for _ in 0..<3 { _ = try await raw.send(.name("\u{0}")) }
                        #expect(try await raw.closeReason()?.code == .invalidName)
                    } else {
                        _ = try await raw.send(.name(" "))
                        _ = try await raw.receive()
                        await raw.close()
                    }
                }
                while await live.server.connectionCounts.total > 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(await live.server.connectionCounts.trackedSources == 0)
                // And the address is served as before.
                var last = try await RawClient.connect(port: live.port, from: "127.0.0.3")
                _ = try await last.handshake()
                await last.close()
            }
        }
    }
}

extension RawClient {
    /// Reads the hello (not a refusal) and runs the key exchange up to the password prompt.
    fileprivate mutating func readHelloAndKeys() async throws {
        let hello = try await readHello()
        try await exchangeKeys(hello: hello)
        guard try await receive() == .passwordPrompt else { throw RawClientError("no password prompt") }
    }
}
