import Foundation
import LaboratoryClient
import LaboratoryLegacy
import LaboratoryTestSupport
import Testing

@Suite("laboratory-server --legacy-port", .timeLimit(.minutes(2)))
struct LegacyExecutableTests {
    @Test("serves prototype clients on the legacy port, warns at start, and tells them when it stops")
    func legacyPort() async throws {
        let server = try ServerProcess(
            arguments: ["--legacy-port", "0"], environment: ["LABORATORY_PASSWORD": "a process password"])
        let legacyLine = try #require(await server.value(after: "Legacy listening on 127.0.0.1:"))
        let port = try #require(Int(legacyLine))
        #expect(await server.value(after: "Listening on 127.0.0.1:") != nil)

        let session = try await LegacyClientSession.connect(
            host: "127.0.0.1", port: port, password: "a process password", name: "proc")
        try await session.send("over the legacy port")
        #expect(await session.receive() == "I received \"over the legacy port\" from you.")

        server.interrupt()
        #expect(await session.receive() == "STOP SERVER")
        await session.close()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        #expect(exit.stderr.contains("LEGACY LISTENER ENABLED"))
    }
}
