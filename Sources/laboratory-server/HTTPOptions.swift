import ArgumentParser
import LaboratoryHTTP

/// The HTTP listener's options: where it listens, and whether it serves the WebSocket gateway.
struct HTTPOptions: ParsableArguments {
    @Option(help: "Also serve HTTP (health, WebSocket gateway) on this port; 0 picks a free one. Off unless given.")
    var httpPort: Int?

    @Option(help: "The address the HTTP listener binds (loopback unless given).")
    var httpHost = "127.0.0.1"

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

    func validate() throws {
        if let httpPort { try OptionRange.check(httpPort, 0...65535, "--http-port") }
        if websocket, httpPort == nil { throw ValidationError("--websocket needs --http-port") }
        if !websocketOrigin.isEmpty, !websocket { throw ValidationError("--websocket-origin needs --websocket") }
        for origin in websocketOrigin where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ValidationError("--websocket-origin \(origin) is not an origin such as https://chat.example.org")
        }
    }

    /// The HTTP listener's configuration, or `nil` when HTTP is off.
    var configuration: HTTPConfiguration? {
        httpPort.map { port in
            HTTPConfiguration(
                host: httpHost, port: port,
                webSocketGateway: websocket ? WebSocketGatewayConfiguration(allowedOrigins: websocketOrigin) : nil)
        }
    }
}
