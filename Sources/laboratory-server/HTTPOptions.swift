import ArgumentParser

/// The optional HTTP listener's options (health, readiness, metrics, the admin API, the browser
/// client and the WebSocket gateway): where it listens and what it serves. Like every setting,
/// each can also come from the environment or the `--config` file; ``HTTPSettings`` merges and
/// checks them.
struct HTTPOptions: ParsableArguments {
    @Option(
        help: """
            Also serve HTTP on this port: GET /health, /ready (503 while draining), /metrics \
            (Prometheus) and the admin API (bearer token in <state-dir>/admin_token, generated on \
            first start). 0 picks a free port. Off unless given.
            """)
    var httpPort: Int?

    @Option(
        help: """
            The address the HTTP listener binds (loopback by default, 127.0.0.1: its endpoints are for \
            the operator).
            """)
    var httpHost: String?

    @Flag(
        help: """
            Serve the WebSocket gateway on the HTTP listener (GET /v1/ws): browsers reach the same sessions \
            and rooms as TCP clients, with the same password. Needs --http-port.
            """)
    var websocket = false

    @Option(
        help: ArgumentHelp(
            "A web page origin (scheme://host[:port]) allowed to open the gateway besides the same origin; repeatable.",
            valueName: "origin"))
    var websocketOrigin: [String] = []

    @Option(
        help: """
            Serve the browser client from this folder at / on the HTTP listener (Clients/web in the \
            repository). Needs --http-port; the page needs --websocket to connect.
            """)
    var webRoot: String?

    @Option(
        help: """
            Serve HTTPS (and wss:// for the gateway) with this PEM certificate chain, the listener's \
            certificate first. Needs --http-tls-key and --http-port.
            """)
    var httpTLSCertificate: String?

    @Option(help: "The PEM private key of --http-tls-certificate (keep it mode 0600).")
    var httpTLSKey: String?

    /// The checks of each value on its own; those that involve other settings, which may come from
    /// the environment or the file, are ``HTTPSettings``'s.
    func validate() throws {
        if let httpPort { try OptionRange.check(httpPort, 0...65535, "--http-port") }
        for origin in websocketOrigin where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ValidationError("--websocket-origin \(origin) is not an origin such as https://chat.example.org")
        }
    }
}
