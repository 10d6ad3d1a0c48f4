import LaboratoryClient
import LaboratoryProtocol

/// A server address: `HOST:PORT`, `HOST` (port 12800) or `[IPv6]:PORT`.
struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The port a server listens on unless told otherwise.
    static let defaultPort = 12800

    /// The host name or address, without brackets.
    var host: String
    /// The TCP port.
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `HOST` or `[IPv6]:PORT`.
    init(parsing text: String) throws(CommandFailure) {
        let usage =
            "\"\(text)\" is not a server address; use HOST:PORT with a port from 1 to 65535, for example "
            + "127.0.0.1:12800"
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw CommandFailure(usage, status: .usage) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw CommandFailure(usage, status: .usage) }
                portText = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        var port = Self.defaultPort
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw CommandFailure(usage, status: .usage)
            }
            port = number
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else { throw CommandFailure(usage, status: .usage) }
        self.init(host: host, port: port)
    }

    /// How the library names this server in a known-hosts file.
    var knownHostsKey: String { KnownHostsFile.endpoint(host: host, port: port) }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
