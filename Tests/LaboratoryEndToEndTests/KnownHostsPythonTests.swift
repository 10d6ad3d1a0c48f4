import Foundation
import LaboratoryTestSupport
import Testing

@testable import LaboratoryClient

/// The known-hosts file as the Python client reads it (the rest of its tests: `KnownHostsFileTests`).
// Apart from KnownHostsFileTests, whose opening it shares, because it needs Python.
@Suite("Known-hosts file, read by the Python client")
struct KnownHostsPythonTests {
    @Test("a file the Swift client writes is read identically by the Python client")
    func pythonReadsSwiftFile() throws {
        let path = temporaryKnownHostsPath()
        var file = try KnownHostsFile(path: path)
        let endpoints = [("::1", 12800), ("Example.ORG", 443), ("127.0.0.1", 1)]
        for (index, (host, port)) in endpoints.enumerated() {
            try file.add(endpoint: KnownHostsFile.endpoint(host: host, port: port), fingerprint: "SHA256:k\(index)")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = """
            import sys, laboratory_client as lab
            known = lab.KnownHosts(sys.argv[1])
            print(known.lookup("::1", 12800), known.lookup("example.org", 443), known.lookup("127.0.0.1", 1))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = root.appendingPathComponent("Clients/python/src").path
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: data, as: UTF8.self) == "SHA256:k0 SHA256:k1 SHA256:k2\n")
    }
}
