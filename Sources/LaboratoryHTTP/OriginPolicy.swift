/// Whether the WebSocket gateway accepts an upgrade request, by its `Origin` header (see
/// ``WebSocketGatewayConfiguration``). Pure: the header values in, the decision out.
package struct OriginPolicy: Sendable {
    /// The allowed origins, lowercased, without a trailing slash.
    private let allowed: Set<String>

    package init(allowedOrigins: [String]) {
        allowed = Set(allowedOrigins.map(Self.normalized))
    }

    /// Whether a request with `origin` (its `Origin` header, if any) and `host` (its `Host`
    /// header, if any) may upgrade.
    package func allows(origin: String?, host: String?) -> Bool {
        // Not a browser: the password is the gate (see WebSocketGatewayConfiguration).
        guard let origin else { return true }
        let normalized = Self.normalized(origin)
        if allowed.contains(normalized) { return true }
        // Same origin: the page came from the authority this request was sent to.
        guard let host, let authority = Self.authority(of: normalized) else { return false }
        return authority == Self.withDefaultPort(host.lowercased(), scheme: Self.scheme(of: normalized))
    }

    private static func normalized(_ origin: String) -> String {
        var value = origin.trimmingSpaces.lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    private static func scheme(of origin: String) -> String? {
        guard let range = origin.range(of: "://") else { return nil }
        return String(origin[..<range.lowerBound])
    }

    /// `host:port` of an origin (the scheme's default port when it names none); `nil` for `null`
    /// or anything that is not `http(s)://authority`.
    private static func authority(of origin: String) -> String? {
        guard let scheme = scheme(of: origin), scheme == "http" || scheme == "https",
            let range = origin.range(of: "://")
        else { return nil }
        let authority = String(origin[range.upperBound...])
        guard !authority.isEmpty, !authority.contains("/"), !authority.contains("@") else { return nil }
        return withDefaultPort(authority, scheme: scheme)
    }

    /// `authority` with the scheme's default port when it names none (`[::1]` style hosts kept).
    private static func withDefaultPort(_ authority: String, scheme: String?) -> String {
        let afterHost =
            authority.hasPrefix("[") ? authority.split(separator: "]").dropFirst().first ?? "" : authority[...]
        if afterHost.contains(":") { return authority }
        return authority + (scheme == "https" ? ":443" : ":80")
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var value = Substring(self)
        while value.first == " " { value.removeFirst() }
        while value.last == " " { value.removeLast() }
        return String(value)
    }
}
