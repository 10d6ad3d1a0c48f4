import ArgumentParser
import Foundation

/// `laboratory admin …`: the server's admin API (`laboratory-server --http-port`) from a terminal
/// or a script. Tables by default, the API's JSON with `--json`.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Steer a running server through its admin API (laboratory-server --http-port).",
        discussion: """
            The token comes from --token-file, else LABORATORY_ADMIN_TOKEN, else ./.laboratory/admin_token \
            (the server's default state directory). Wrong tokens are penalised like wrong passwords: \
            a few in a row lock this address out for a while.
            """,
        subcommands: [
            AdminSessionsCommand.self, AdminRoomsCommand.self, AdminKickCommand.self, AdminBanCommand.self,
            AdminBansCommand.self,
            AdminReloadCommand.self, AdminDrainCommand.self,
        ])
}

/// The options every admin subcommand takes.
struct AdminOptions: ParsableArguments {
    @Option(help: "The admin API's address.")
    var url = AdminURL.default

    @Option(help: "A file holding the admin token (the server's <state-dir>/admin_token).")
    var tokenFile: String?

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    /// Calls the API and returns the successful response's body; a failure becomes one line and
    /// its exit status.
    func call(_ method: String, _ path: String, body: [UInt8]? = nil) async throws -> [UInt8] {
        let url = try AdminURL(parsing: url)
        let token = try AdminTokenSource.resolve(file: tokenFile, environment: ProcessInfo.processInfo.environment)
        let response = try await AdminHTTP.exchange(method, path, url: url, token: token, body: body)
        guard (200..<300).contains(response.status) else { throw Self.failure(response, url: url) }
        return response.body
    }

    /// Prints the body as it came (`--json`) or the table `render` makes of it.
    func show<Reply: Decodable>(_ body: [UInt8], as type: Reply.Type, _ render: (Reply) -> String) throws {
        if json {
            Terminal.put(body.last == 0x0A ? body : body + [0x0A])
            return
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(body)) else {
            throw CommandFailure("the admin API answered with JSON of another shape", status: .protocolError)
        }
        Terminal.put(render(reply))
    }

    /// A response outside 2xx as a failure: the API's `{"error": …}` message and a status from
    /// README's table.
    static func failure(_ response: AdminHTTPResponse, url: AdminURL) -> CommandFailure {
        struct Failure: Decodable { var error: String }
        guard let message = try? JSONDecoder().decode(Failure.self, from: Data(response.body)).error else {
            return CommandFailure(
                "\(url) answered HTTP \(response.status) without an admin API error; is it the admin API's address?",
                status: .protocolError)
        }
        let retry = response.header("retry-after").map { " (retry after \($0) s)" } ?? ""
        let text = "\(url): \(message)\(retry)"
        switch response.status {
        case 400, 413: return CommandFailure(text, status: .dataError)
        case 401: return CommandFailure(text + "; check --token-file or LABORATORY_ADMIN_TOKEN", status: .noPermission)
        case 403, 429, 503: return CommandFailure(text, status: .temporaryFailure)
        case 404: return CommandFailure(text, status: .noInput)
        default: return CommandFailure("\(text) (HTTP \(response.status))", status: .unavailable)
        }
    }
}

struct AdminSessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "List the accepted sessions: id, name, address, since, rooms, bytes.")

    @OptionGroup var options: AdminOptions

    func run() async throws {
        try await reportingFailures { _ in
            let body = try await options.call("GET", "/admin/sessions")
            try options.show(body, as: AdminTables.Sessions.self, AdminTables.render)
        }
    }
}

struct AdminRoomsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rooms", abstract: "List the chat rooms with members, and their members.")

    @OptionGroup var options: AdminOptions

    func run() async throws {
        try await reportingFailures { _ in
            let body = try await options.call("GET", "/admin/rooms")
            try options.show(body, as: AdminTables.Rooms.self, AdminTables.render)
        }
    }
}

struct AdminKickCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kick",
        abstract: "End a session; its client is told the reason (close code 17, kicked).")

    @Argument(help: "The session's id (from `laboratory admin sessions`).")
    var id: UInt64

    @Option(help: "Why, shown to the session's user.")
    var reason = "removed by the server's operator"

    @OptionGroup var options: AdminOptions

    func run() async throws {
        try await reportingFailures { _ in
            let body = try JSONEncoder().encode(["reason": reason])
            let reply = try await options.call("POST", "/admin/sessions/\(id)/kick", body: Array(body))
            try options.show(reply, as: AdminTables.Kicked.self) { "Kicked session \($0.kicked)\n" }
        }
    }
}

struct AdminBanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ban",
        abstract: "Refuse new connections from an address or CIDR block, on every listener, for a while.")

    @Argument(help: "An address (192.0.2.7, 2001:db8::7) or a CIDR block (192.0.2.0/24, 2001:db8::/48).")
    var address: String

    @Option(
        name: .customLong("for"),
        help: ArgumentHelp("How long: seconds, or a number with s, m, h or d (90, 15m, 2h, 7d).", valueName: "duration")
    )
    var duration: String

    @OptionGroup var options: AdminOptions

    func validate() throws {
        guard AdminTables.seconds(parsing: duration) != nil else {
            throw ValidationError("--for takes a duration such as 90, 90s, 15m, 2h or 7d, up to 30 days")
        }
    }

    func run() async throws {
        try await reportingFailures { _ in
            let seconds = AdminTables.seconds(parsing: duration) ?? 0
            let body = try JSONEncoder().encode(AdminTables.Ban(address: address, seconds: seconds))
            let reply = try await options.call("POST", "/admin/bans", body: Array(body))
            try options.show(reply, as: AdminTables.Ban.self) {
                "Banned \(EventText.clean($0.address)) for \(AdminTables.describe(seconds: $0.seconds))\n"
            }
        }
    }
}

struct AdminBansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bans", abstract: "List the bans in force and how long each has left.")

    @OptionGroup var options: AdminOptions

    func run() async throws {
        try await reportingFailures { _ in
            let body = try await options.call("GET", "/admin/bans")
            try options.show(body, as: AdminTables.Bans.self, AdminTables.render)
        }
    }
}

struct AdminReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Ask the server to reload its configuration.")

    @OptionGroup var options: AdminOptions

    func run() async throws {
        try await reportingFailures { _ in
            let reply = try await options.call("POST", "/admin/reload")
            try options.show(reply, as: AdminTables.Done.self) { EventText.clean($0.message) + "\n" }
        }
    }
}

struct AdminDrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Start a graceful shutdown: sessions are told and closed after the grace period.")

    @OptionGroup var options: AdminOptions

    func run() async throws {
        try await reportingFailures { _ in
            let reply = try await options.call("POST", "/admin/drain")
            try options.show(reply, as: AdminTables.Done.self) { EventText.clean($0.message) + "\n" }
        }
    }
}
