import Foundation
import LaboratoryTestSupport
import Testing

/// `laboratory-server --chat-store` and `--chat-history-age` through the real executable: where
/// they come from, the URL's password never shown, a malformed value refused with status 64, a
/// store that cannot be reached refused with one line and status 69, and a server on a real
/// PostgreSQL that registers its node and removes it when it stops.
@Suite("laboratory-server chat store options", .serialized, .timeLimit(.minutes(2)))
struct ChatStoreOptionTests {
    typealias Scratch = ExitStatusTests.Scratch

    private static let password = "correct horse battery staple 42"

    private func printConfig(_ arguments: [String], environment: [String: String] = [:]) throws -> ToolResult {
        let unset = (ServerProcess.uninherited + ["LABORATORY_CHAT_STORE", "LABORATORY_CHAT_HISTORY_AGE"])
            .flatMap { ["-u", $0] }
        let assignments = environment.map { "\($0.key)=\($0.value)" }
        return try runTool(unset + assignments + [ServerProcess.executableURL.path, "--print-config"] + arguments)
    }

    private func line(_ key: String, in result: ToolResult) -> String? {
        result.text.split(separator: "\n").first { $0.hasPrefix(key + ": ") }.map(String.init)
    }

    @Test(
        "--print-config: memory by default; the URL from a flag, the environment or the file with its password as ***")
    func printConfigRedactsTheURL() throws {
        let none = try printConfig([])
        #expect(line("chat-store", in: none) == "chat-store: memory  # default")
        #expect(line("chat-history-age", in: none) == "chat-history-age: 604800.0  # default")
        #expect(line("chat-history-count", in: none) == "chat-history-count: 10000  # default")

        let flag = try printConfig(["--chat-store", "postgres://lab:flag-secret@db.example:6543/chat"])
        #expect(
            line("chat-store", in: flag)
                == "chat-store: \"postgres://lab:***@db.example:6543/chat\"  # flag --chat-store")
        let environment = try printConfig(
            [],
            environment: [
                "LABORATORY_CHAT_STORE": "postgres://lab:env-secret@db/chat", "LABORATORY_CHAT_HISTORY_AGE": "3600",
            ])
        #expect(
            line("chat-store", in: environment)
                == "chat-store: \"postgres://lab:***@db/chat\"  # environment LABORATORY_CHAT_STORE")
        #expect(
            line("chat-history-age", in: environment)
                == "chat-history-age: 3600.0  # environment LABORATORY_CHAT_HISTORY_AGE")
        let scratch = try Scratch()
        let file = try scratch.file(
            "laboratory.yaml", "chat-store: \"postgres://lab:file-secret@db/chat\"\nchat-history-age: 0\n", mode: 0o600)
        let fromFile = try printConfig(["--config", file])
        #expect(line("chat-store", in: fromFile) == "chat-store: \"postgres://lab:***@db/chat\"  # file \(file)")
        #expect(line("chat-history-age", in: fromFile) == "chat-history-age: 0.0  # file \(file)")
        let counted = try printConfig(
            ["--chat-history-count", "2500"], environment: ["LABORATORY_CHAT_STORE": "postgres://lab@db/chat"])
        #expect(line("chat-history-count", in: counted) == "chat-history-count: 2500  # flag --chat-history-count")
        for result in [flag, environment, fromFile] {
            #expect(result.status == 0)
            #expect(!result.text.contains("secret") && !result.standardError.contains("secret"))
        }
    }

    @Test("A malformed URL, a negative age, or an age without a store: one line naming the source, status 64")
    func malformedValues() throws {
        let url = try printConfig(["--chat-store", "mysql://lab@db/chat"])
        #expect(url.status == 64)
        #expect(
            url.standardError
                == "laboratory-server: --chat-store: the chat store URL is not usable: it is not a postgres://user@host:port/database URL\n"
        )
        let noUser = try printConfig([], environment: ["LABORATORY_CHAT_STORE": "postgres://db/chat"])
        #expect(noUser.status == 64)
        #expect(noUser.standardError.hasPrefix("laboratory-server: LABORATORY_CHAT_STORE in the environment: "))
        let negative = try printConfig(["--chat-store", "postgres://lab@db/chat", "--chat-history-age", "-5"])
        #expect(negative.status == 64)
        // A count below the replay window would let a node behind a busy room lose events.
        let small = try printConfig(["--chat-store", "postgres://lab@db/chat", "--chat-history-count", "100"])
        #expect(small.status == 64)
        #expect(small.standardError.contains("--chat-history-count must be from 1000"))
        let smallFromEnvironment = try printConfig(
            [],
            environment: [
                "LABORATORY_CHAT_STORE": "postgres://lab@db/chat", "LABORATORY_CHAT_HISTORY_COUNT": "999",
            ])
        #expect(smallFromEnvironment.status == 64)
        #expect(
            smallFromEnvironment.standardError
                == "laboratory-server: LABORATORY_CHAT_HISTORY_COUNT in the environment must be from 1000 (what a "
                + "resuming client can be replayed) to 10000000 events; got 999\n")
        let countAlone = try printConfig(["--chat-history-count", "5000"])
        #expect(countAlone.status == 64)
        #expect(countAlone.standardError == "laboratory-server: --chat-history-count needs --chat-store\n")
        let alone = try printConfig([], environment: ["LABORATORY_CHAT_HISTORY_AGE": "60"])
        #expect(alone.status == 64)
        #expect(
            alone.standardError
                == "laboratory-server: LABORATORY_CHAT_HISTORY_AGE in the environment needs chat-store\n")
    }

    @Test("A store that cannot be reached: one line, without the password, and status 69 (EX_UNAVAILABLE)")
    func unreachableStore() async throws {
        let server = try ServerProcess(
            arguments: ["--chat-store", "postgres://lab:store-secret@127.0.0.1:1/chat"],
            environment: ["LABORATORY_PASSWORD": Self.password])
        let exit = await server.waitForExit()
        #expect(exit.status == 69)
        #expect(
            exit.stderr
                == "laboratory-server: cannot start chat on postgres://lab:***@127.0.0.1:1/chat (--chat-store): "
                + "chat store unavailable: connecting to 127.0.0.1:1 failed: connection refused\n")
    }

    @Test("On a real PostgreSQL: the server registers node 1, says so, and removes the node when it stops")
    func registersAndRemovesItsNode() async throws {
        try await withPostgresCluster { cluster in
            let url = "postgres://postgres@127.0.0.1:\(cluster.port)/postgres"
            let server = try ServerProcess(
                arguments: ["--chat-store", url], environment: ["LABORATORY_PASSWORD": Self.password])
            #expect(await server.value(after: "Chat store ") == "\(url): node 1")
            #expect(await server.value(after: "Listening on ") != nil)
            #expect(
                try await cluster.command("psql", psql(cluster, "SELECT number FROM laboratory_chat_nodes")) == "1\n")
            server.send(SIGTERM)
            let exit = await server.waitForExit()
            #expect(exit.status == 0)
            #expect(
                try await cluster.command("psql", psql(cluster, "SELECT count(*) FROM laboratory_chat_nodes")) == "0\n")
        }
    }

    private func psql(_ cluster: PostgresCluster, _ statement: String) -> [String] {
        [
            "-h", cluster.host, "-p", String(cluster.port), "-U", cluster.username, "-d", cluster.database, "-At", "-c",
            statement,
        ]
    }
}
