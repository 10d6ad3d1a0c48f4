import Laboratory
import LaboratoryTesting
import Testing

@Suite("Echo through the test kit", .timeLimit(.minutes(1)))
struct EchoServiceTests {
    @Test("echo returns the body unchanged", arguments: ServiceTestMode.allCases)
    func echo(mode: ServiceTestMode) async throws {
        try await withServiceTest(.standard, mode: mode) { client in
            let ada = try await client.session(name: "ada")
            for body in [[], [0], Array("hello".utf8), [UInt8](repeating: 0xAB, count: 100_000)] {
                #expect(try await ada.request("echo", body) == body)
            }
        }
    }

    @Test("an unknown service is an error, the same in both modes", arguments: ServiceTestMode.allCases)
    func unknownService(mode: ServiceTestMode) async throws {
        try await withServiceTest(.standard, mode: mode) { client in
            let ada = try await client.session(name: "ada")
            let error = try await #require(throws: ServiceTestError.self) { try await ada.request("nope", []) }
            #expect(error.status == .unknownService)
            #expect(error.message.contains("echo"))
        }
    }

    @Test("session names follow the handshake's rules in both modes", arguments: ServiceTestMode.allCases)
    func names(mode: ServiceTestMode) async throws {
        try await withServiceTest(.standard, mode: mode) { client in
            await #expect(throws: ServiceTestError.self) { try await client.session(name: " padded ") }
            let ada = try await client.session(name: "ada")
            let error = try await #require(throws: ServiceTestError.self) { try await ada.rename(to: "") }
            #expect(error.status == .rejected)
            try await ada.rename(to: "Ada Lovelace")
        }
    }
}
