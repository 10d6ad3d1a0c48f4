import Foundation
import Laboratory
import LaboratoryClient
import Testing

@Suite("laboratory-server executable", .serialized, .timeLimit(.minutes(2)))
struct HostExecutableTests {
    @Test("starts on its defaults, creates a 0600 host key, serves Echo, stops on SIGINT")
    func startsServesStops() async throws {
        let server = try ServerProcess(
            arguments: ["--name", "Process Test", "--log-level", "trace"],
            environment: ["LABORATORY_PASSWORD": "a process password"])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let listening = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let port = try #require(Int(listening))

        let attributes = try FileManager.default.attributesOfItem(atPath: server.stateDirectory + "/host_key.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: "a process password", name: "proc",
            trust: .pinned(fingerprint: fingerprint))
        #expect(session.serverFingerprint == fingerprint)
        #expect(try await session.serverName() == "Process Test")
        #expect(
            try await session.request(service: "echo", body: Array("over a real process".utf8))
                == Array("over a real process".utf8))

        var events = session.events.makeAsyncIterator()
        server.interrupt()
        guard case .serverStopping? = await events.next() else {
            Issue.record("the client was not told the server is stopping")
            return
        }
        await session.close()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        #expect(!exit.stderr.contains("a process password"))
    }

    @Test("with no password configured, generates one, stores it 0600, prints it only on first start")
    func generatesPassword() async throws {
        let first = try ServerProcess(arguments: [])
        let line = try #require(await first.value(after: "Generated a server password"))
        let password = try #require(line.split(separator: ": ").last.map(String.init))
        #expect(password.count >= 24)
        let listening = try #require(await first.value(after: "Listening on 127.0.0.1:"))
        let port = try #require(Int(listening))
        let attributes = try FileManager.default.attributesOfItem(atPath: first.stateDirectory + "/password")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: password, name: "first", trust: .acceptAnyKey)
        await session.close()
        first.interrupt()
        #expect(await first.waitForExit().status == 0)

        // Restarting on the same state directory reuses the password and key silently.
        let again = try ServerProcess(arguments: [], stateDirectory: first.stateDirectory)
        var sawGenerated = false
        var port2: Int?
        while let next = await again.value(after: "") {
            if next.hasPrefix("Generated") || next.hasPrefix("Created") { sawGenerated = true }
            if next.hasPrefix("Listening on 127.0.0.1:") {
                port2 = Int(next.dropFirst("Listening on 127.0.0.1:".count))
                break
            }
        }
        #expect(!sawGenerated)
        let session2 = try await ClientSession.connect(
            host: "127.0.0.1", port: try #require(port2), password: password, name: "again", trust: .acceptAnyKey)
        await session2.close()
        again.interrupt()
        #expect(await again.waitForExit().status == 0)
    }

    @Test("refuses to start with an empty password or the prototype's default", arguments: ["", "PASSWORD"])
    func refusesWeakPassword(password: String) async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": password])
        let exit = await server.waitForExit()
        #expect(exit.status == 65)
        #expect(exit.stderr.hasPrefix("laboratory-server: refusing to start: the server password"))
        #expect(exit.stderr.split(separator: "\n").count == 1)
    }

    @Test("a bad password file or a 0-byte host key stops it with one line naming the file, never a framework error")
    func badFilesOneLine() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bad-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let passwordFile = scratch.appendingPathComponent("password.bin")
        try Data([0xFF, 0xFE, 0x70, 0x00, 0x77, 0x00]).write(to: passwordFile)
        let binary = try ServerProcess(arguments: ["--password-file", passwordFile.path])
        let binaryExit = await binary.waitForExit()
        #expect(binaryExit.status == 65)
        let binaryLines = binaryExit.stderr.split(separator: "\n")
        #expect(binaryLines.count == 1)
        #expect(binaryExit.stderr.contains(passwordFile.path) && binaryExit.stderr.contains("not a text file"))
        #expect(!binaryExit.stderr.contains("NSCocoaErrorDomain"))

        let missing = try ServerProcess(arguments: ["--password-file", scratch.appendingPathComponent("absent").path])
        let missingExit = await missing.waitForExit()
        #expect(missingExit.status == 66)
        #expect(missingExit.stderr.contains("absent does not exist") && !missingExit.stderr.contains("NSCocoa"))

        let state = scratch.appendingPathComponent("state").path
        try FileManager.default.createDirectory(
            atPath: state, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        #expect(FileManager.default.createFile(atPath: state + "/host_key.pem", contents: Data()))
        let emptyKey = try ServerProcess(
            arguments: [], environment: ["LABORATORY_PASSWORD": "a process password"], stateDirectory: state)
        let emptyKeyExit = await emptyKey.waitForExit()
        #expect(emptyKeyExit.status == 65)
        #expect(emptyKeyExit.stderr.split(separator: "\n").count == 1)
        #expect(emptyKeyExit.stderr.contains(state + "/host_key.pem is empty"))
        #expect(emptyKeyExit.stderr.contains("move it away"))
    }

    @Test("a state directory open to others is made 0700 at start, with a notice in the log")
    func fixesStateDirectoryMode() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("open-state-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(
            atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let server = try ServerProcess(
            arguments: [], environment: ["LABORATORY_PASSWORD": "a process password"], stateDirectory: state)
        _ = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let attributes = try FileManager.default.attributesOfItem(atPath: state)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        server.interrupt()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        #expect(exit.stderr.contains("changed it to 700"))
    }

    @Test(
        "refuses admission settings out of range",
        arguments: [
            ["--max-unauthenticated-per-network", "0"], ["--penalty-per-second-unfinished", "61"],
            ["--penalty-per-second-unfinished=-1"], ["--penalty-exempt", "2001:db8::/129"],
        ])
    func refusesAdmissionSettings(arguments: [String]) async throws {
        let server = try ServerProcess(arguments: arguments, environment: ["LABORATORY_PASSWORD": "a good password"])
        let exit = await server.waitForExit()
        #expect(exit.status == 64)
        let option = String(arguments[0].split(separator: "=")[0])
        #expect(exit.stderr.contains(option + " "), "\(exit.stderr)")
    }
}
