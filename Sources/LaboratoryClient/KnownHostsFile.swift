import Foundation

/// A known-hosts file, in the format PROTOCOL.md §4 defines, shared with the Python client.
///
/// UTF-8 text, one entry a line: `ENDPOINT FINGERPRINT`, fields separated by spaces or tabs.
/// `ENDPOINT` is ``endpoint(host:port:)``: `host:port` with the host in lower case, and an IPv6
/// literal in brackets (`[::1]:12800`); the port is always written. Blank lines and lines starting
/// with `#` are comments. Any other line that is not exactly two fields, a valid endpoint and a
/// `SHA256:` fingerprint is malformed: it never matches a server, and it is kept unchanged when
/// the file is rewritten. The first entry for an endpoint is the one that counts.
///
/// Lines are read and compared code point by code point, as the Python client does: no Unicode
/// normalization (Swift's `String` equality would make `é` and `e` + U+0301 the same host), no
/// grapheme clusters (a space or colon followed by a combining mark is still a separator), and a
/// byte-order mark is not stripped (Foundation's UTF-8 decoding would drop it).
public struct KnownHostsFile: Sendable {
    /// Where the file lives.
    public let path: String
    /// Every line as read, without its line break.
    private var lines: [String]

    /// Reads the file; a missing file is empty.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            lines = []
            return
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CocoaError(.fileReadInapplicableStringEncoding, userInfo: [NSFilePathErrorKey: path])
        }
        // Split on scalars: Swift treats "\r\n" as one Character.
        lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
            var line = String(String.UnicodeScalarView($0))
            if line.hasSuffix("\r") { line.removeLast() }
            return line
        }
        if lines.last == "" { lines.removeLast() }
    }

    /// How a server is named in the file: `host:port`, the host's ASCII letters in lower case;
    /// an IPv6 literal (any host containing `:`) in brackets, `[::1]:12800`. Nothing else is
    /// normalized: `localhost` and `127.0.0.1`, or `::1` and `0::1`, are different servers.
    public static func endpoint(host: String, port: Int) -> String {
        // ASCII letters only, so every client folds the same way whatever its Unicode tables.
        var host = String(
            String.UnicodeScalarView(
                host.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }))
        let scalars = host.unicodeScalars
        if scalars.first == "[", scalars.last == "]" {
            host = String(String.UnicodeScalarView(scalars.dropFirst().dropLast()))
        }
        return host.unicodeScalars.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The entry a line holds, or `nil` for a comment, a blank line or a malformed line.
    static func entry(_ line: String) -> (endpoint: String, fingerprint: String)? {
        let fields = line.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 2, fields[0].first != "#", fields[1].starts(with: "SHA256:".unicodeScalars),
            let endpoint = canonical(fields[0])
        else { return nil }
        return (endpoint, String(String.UnicodeScalarView(fields[1])))
    }

    /// An endpoint field in canonical form, or `nil` if it is not one. Also reads the unbracketed
    /// IPv6 form (`::1:12800`) that clients before this format wrote, splitting at the last colon.
    static func canonical(_ field: String.UnicodeScalarView.SubSequence) -> String? {
        guard let colon = field.lastIndex(of: ":") else { return nil }
        let portText = String(String.UnicodeScalarView(field[field.index(after: colon)...]))
        guard let port = Int(portText), (1...65535).contains(port), String(port) == portText else { return nil }
        var host = field[..<colon]
        if host.first == "[" {
            guard host.last == "]", host.count > 2 else { return nil }
            host = host.dropFirst().dropLast()
        } else if host.contains("[") || host.contains("]") {
            return nil
        }
        guard !host.isEmpty else { return nil }
        return endpoint(host: String(String.UnicodeScalarView(host)), port: port)
    }

    /// Whether two canonical endpoints are the same, code point by code point.
    private static func same(_ a: String?, _ b: String) -> Bool {
        a.map { $0.unicodeScalars.elementsEqual(b.unicodeScalars) } ?? false
    }

    /// The recorded fingerprint for an endpoint (`host:port`, `[ipv6]:port`, in any case).
    public func fingerprint(for endpoint: String) -> String? {
        guard let wanted = Self.canonical(endpoint.unicodeScalars[...]) else { return nil }
        for line in lines {
            if let entry = Self.entry(line), Self.same(entry.endpoint, wanted) { return entry.fingerprint }
        }
        return nil
    }

    /// Records a fingerprint for an endpoint, replacing any entry it had, and writes the file
    /// (atomically, mode 0600). Comments and malformed lines are kept as they were.
    public mutating func add(endpoint: String, fingerprint: String) throws {
        let key = Self.canonical(endpoint.unicodeScalars[...]) ?? endpoint
        lines.removeAll { Self.same(Self.entry($0)?.endpoint, key) }
        lines.append("\(key) \(fingerprint)")
        let text = lines.map { $0 + "\n" }.joined()
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}
