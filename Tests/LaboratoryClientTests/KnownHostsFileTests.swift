import Foundation
import LaboratoryTestSupport
import Testing

@testable import LaboratoryClient

@Suite("Known-hosts file")
struct KnownHostsFileTests {
    @Test("a missing file is empty; added entries are written with mode 0600 and read back")
    func roundTrip() throws {
        let path = temporaryKnownHostsPath()
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
        let path = temporaryKnownHostsPath()
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

        let path = temporaryKnownHostsPath()
        let tofu = ServerTrust.knownHosts(file: path)
        #expect(try tofu.check(fingerprint: "SHA256:first", endpoint: "h:1") == nil)
        #expect(try tofu.check(fingerprint: "SHA256:first", endpoint: "h:1") == nil)
        let changed = try tofu.check(fingerprint: "SHA256:second", endpoint: "h:1")
        #expect(changed?.contains(path) == true)
        #expect(try tofu.check(fingerprint: "SHA256:other", endpoint: "h:2") == nil)
    }

    /// The cases the Python client's tests read too (`Clients/python/tests/known_hosts_cases.json`).
    struct SharedCases: Decodable {
        struct Endpoint: Decodable {
            var host: String
            var port: Int
            var key: String
        }
        struct Lookup: Decodable {
            var host: String
            var port: Int
            var fingerprint: String?
        }
        var endpoints: [Endpoint]
        var file: String
        var lookups: [Lookup]

        static func load() throws -> SharedCases {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Clients/python/tests/known_hosts_cases.json")
            return try JSONDecoder().decode(SharedCases.self, from: Data(contentsOf: url))
        }
    }

    @Test("endpoints are named as the Python client names them: lower case, IPv6 in brackets, port always")
    func endpointKeys() throws {
        for endpoint in try SharedCases.load().endpoints {
            // Code point by code point: `==` on Strings would equate e + U+0301 with é.
            let key = KnownHostsFile.endpoint(host: endpoint.host, port: endpoint.port)
            #expect(key.unicodeScalars.elementsEqual(endpoint.key.unicodeScalars), "\(key) \(endpoint.key)")
        }
    }

    @Test("comments, malformed lines, legacy IPv6 entries and CRLF are read as the Python client reads them")
    func sharedLookups() throws {
        let cases = try SharedCases.load()
        let path = try write(cases)
        let file = try KnownHostsFile(path: path)
        for lookup in cases.lookups {
            #expect(
                file.fingerprint(for: KnownHostsFile.endpoint(host: lookup.host, port: lookup.port))
                    == lookup.fingerprint, "\(lookup.host) \(lookup.port)")
        }
    }

    @Test("recording a key replaces the endpoint's entries and keeps comments and malformed lines")
    func addKeepsOtherLines() throws {
        let cases = try SharedCases.load()
        let path = try write(cases)
        var file = try KnownHostsFile(path: path)
        try file.add(endpoint: "HOST.example:1", fingerprint: "SHA256:replaced")
        try file.add(endpoint: KnownHostsFile.endpoint(host: "::1", port: 12800), fingerprint: "SHA256:new")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("SHA256:one\n") && !text.contains("second-entry-ignored"))
        #expect(text.contains("# a comment\n") && text.contains("malformed-no-port SHA256:x\n"))
        #expect(text.hasSuffix("host.example:1 SHA256:replaced\n[::1]:12800 SHA256:new\n"))
        #expect(try KnownHostsFile(path: path).fingerprint(for: "[::1]:12800") == "SHA256:new")
    }

    /// Writes the shared cases' file to a new temporary path and returns the path.
    private func write(_ cases: SharedCases) throws -> String {
        let path = temporaryKnownHostsPath()
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(cases.file.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
