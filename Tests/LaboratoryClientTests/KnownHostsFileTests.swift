import Foundation
import Testing

@testable import LaboratoryClient

@Suite("Known-hosts file")
struct KnownHostsFileTests {
    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("known-hosts-\(UUID().uuidString)/known_hosts")
            .path
    }

    @Test("a missing file is empty; added entries are written with mode 0600 and read back")
    func roundTrip() throws {
        let path = temporaryPath()
        var file = try KnownHostsFile(path: path)
        #expect(file.fingerprint(for: "127.0.0.1:12800") == nil)
        try file.add(endpoint: "127.0.0.1:12800", fingerprint: "SHA256:one")
        try file.add(endpoint: "example.org:1", fingerprint: "SHA256:two")
        let reread = try KnownHostsFile(path: path)
        #expect(reread.fingerprint(for: "127.0.0.1:12800") == "SHA256:one")
        #expect(reread.fingerprint(for: "example.org:1") == "SHA256:two")
        #expect(reread.fingerprint(for: "example.org:2") == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("comments and blank lines are ignored")
    func comments() throws {
        let path = temporaryPath()
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "# a comment\n\nhost:1 SHA256:abc\n#host:2 SHA256:def\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let file = try KnownHostsFile(path: path)
        #expect(file.fingerprint(for: "host:1") == "SHA256:abc")
        #expect(file.fingerprint(for: "#host:2") == nil)
        #expect(file.fingerprint(for: "host:2") == nil)
    }

    @Test("trust policies: pinned, known hosts (first use records, change refused), any")
    func policies() throws {
        #expect(try ServerTrust.pinned(fingerprint: "SHA256:a").check(fingerprint: "SHA256:a", endpoint: "h:1") == nil)
        let refusal = try ServerTrust.pinned(fingerprint: "SHA256:a").check(fingerprint: "SHA256:b", endpoint: "h:1")
        #expect(refusal?.contains("SHA256:b") == true)
        #expect(try ServerTrust.acceptAnyKey.check(fingerprint: "SHA256:z", endpoint: "h:1") == nil)

        let path = temporaryPath()
        let tofu = ServerTrust.knownHosts(file: path)
        #expect(try tofu.check(fingerprint: "SHA256:first", endpoint: "h:1") == nil)
        #expect(try tofu.check(fingerprint: "SHA256:first", endpoint: "h:1") == nil)
        let changed = try tofu.check(fingerprint: "SHA256:second", endpoint: "h:1")
        #expect(changed?.contains(path) == true)
        #expect(try tofu.check(fingerprint: "SHA256:other", endpoint: "h:2") == nil)
    }
}
