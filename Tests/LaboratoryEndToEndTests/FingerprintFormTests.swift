import Foundation
import LaboratoryClient
import Testing

/// PROTOCOL.md §4: wherever a fingerprint is shown it is the whole `SHA256:` string, in one form.
/// One real server; its startup line, its log, the terminal client's messages and the Python
/// client's errors are compared character for character.
@Suite("The fingerprint reads the same everywhere", .timeLimit(.minutes(2)))
struct FingerprintFormTests {
    static let password = "fingerprint form password"

    @Test("server startup line and log, terminal client's errors and notices, Python client's errors")
    func sameEverywhere() async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": Self.password])
        let printed = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        let address = "127.0.0.1:\(port)"
        // The form: SHA256: and 43 base64 characters, whole.
        #expect(printed.wholeMatch(of: /SHA256:[A-Za-z0-9+\/]{43}/) != nil, "\(printed)")
        #expect(ServerTrust.isWellFormed(fingerprint: printed))

        // The terminal client: refusing an unknown key without a terminal, recording it, and a
        // pin that does not match.
        let home = try ClientHome()
        let unknown = try await ClientProcess.run(["echo", address, "x"], home: home, password: Self.password)
        #expect(
            unknown.stderr.hasPrefix(
                "laboratory: unknown server key \(printed) for \(address); if it is right, run again with --accept-new "
                    + "or --fingerprint \(printed)"), "\(unknown.stderr)")
        let recorded = try await ClientProcess.run(
            ["echo", address, "x", "--accept-new"], home: home, password: Self.password)
        #expect(recorded.stderr.contains("Recorded the new server key \(printed) for \(address)"))
        #expect(try String(contentsOfFile: home.knownHostsPath, encoding: .utf8) == "\(address) \(printed)\n")
        let wrong = "SHA256:" + String(repeating: "B", count: 43)
        let mismatch = try await ClientProcess.run(
            ["echo", address, "x", "--fingerprint", wrong], home: home, password: Self.password)
        #expect(
            mismatch.stderr.contains("the server's key is \(printed) but \(wrong) was pinned"), "\(mismatch.stderr)")
        // What the server prints is what --fingerprint takes.
        let pinned = try await ClientProcess.run(
            ["echo", address, "pinned", "--fingerprint", printed], home: home, password: Self.password)
        #expect(pinned.status == 0 && pinned.stdout == "pinned\n")

        // The Python client: the unknown key's error and its fingerprint, and a pin mismatch.
        let python = try runPython(
            """
            import asyncio, sys, laboratory_client as lab
            host, port, path, wrong = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
            async def attempt(trust):
                try:
                    async with lab.connect(host, port, password="unused", name="py", trust=trust):
                        pass
                except lab.HandshakeError as error:
                    return error
            unknown = asyncio.run(attempt(lab.KnownHosts(path)))
            print(unknown.fingerprint)
            print(unknown)
            print(asyncio.run(attempt(lab.Pinned(wrong))))
            """, ["127.0.0.1", "\(port)", home.path + "/python_known_hosts", wrong])
        let lines = python.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(python)")
        #expect(lines.first == printed)
        #expect(lines.dropFirst().first?.contains("unknown server key \(printed) for \(address)") == true, "\(python)")
        #expect(lines.last?.contains("the server's key \(printed) is not the pinned \(wrong)") == true, "\(python)")

        server.interrupt()
        let (status, log) = await server.waitForExit()
        #expect(status == 0)
        // The server's log line when it starts listening names the same fingerprint.
        #expect(log.split(separator: "\n").contains { $0.contains("fingerprint=\(printed)") }, "\(log)")
    }

    @Test("what is not a fingerprint is refused as malformed by the Swift clients, as by the Python one")
    func malformedPins() {
        let good = "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q"
        #expect(ServerTrust.isWellFormed(fingerprint: good))
        for bad in [
            "SHA256:nope", good + "=", String(good.dropLast()), "sha256:" + good.dropFirst(7),
            String(good.dropFirst(7)),
            "MD5:" + good.dropFirst(7), "SHA256:" + String(repeating: "-", count: 43), " " + good,
        ] {
            #expect(!ServerTrust.isWellFormed(fingerprint: bad), "\(bad)")
        }
    }

    /// Runs `script` with the Python client on the path; returns its standard output.
    private func runPython(_ script: String, _ arguments: [String]) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = root.appendingPathComponent("Clients/python/src").path
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }
}
