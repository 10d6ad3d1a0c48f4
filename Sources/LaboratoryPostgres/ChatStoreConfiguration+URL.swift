import Foundation

extension ChatStoreConfiguration {
    /// The configuration a `postgres://user:password@host:port/database` URL names
    /// (`postgresql://` too; the password, port and database may be left out: port 5432, the
    /// user's database). Percent-escapes are decoded; an IPv6 host is written in brackets.
    ///
    /// The other settings are the defaults.
    ///
    /// - Throws: ``ChatStoreError`` when `url` is not such a URL (it names the part that is wrong).
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw ChatStoreError(.invalidURL("it is not a postgres://user@host:port/database URL"))
        }
        guard let host = components.host, !host.isEmpty else {
            throw ChatStoreError(.invalidURL("it names no host"))
        }
        guard let username = components.user, !username.isEmpty else {
            throw ChatStoreError(.invalidURL("it names no user (postgres://user@host/database)"))
        }
        if let query = components.query, !query.isEmpty {
            throw ChatStoreError(.invalidURL("query parameters (?…) are not supported"))
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.contains("/") else { throw ChatStoreError(.invalidURL("the database name contains /")) }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw ChatStoreError(.invalidURL("port \(port) is out of range")) }
        // URLComponents keeps an IPv6 host's brackets.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(
            host: bare, port: port, username: username, password: components.password,
            database: path.isEmpty ? nil : path)
    }

    /// The URL without its password (`***` in its place), for logs and `--print-config`.
    package static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(a postgres URL)"
    }
}
