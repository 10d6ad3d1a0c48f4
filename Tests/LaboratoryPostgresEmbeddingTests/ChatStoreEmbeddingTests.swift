import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryPostgres
import LaboratoryTestSupport
import Logging
import ServiceLifecycle
import Testing
import UnixSignals

// This target is built without package access: it sees what an embedder sees. The function
// between the markers is Docs/CHAT_STORE.md's *Embedding* example, compiled and run here; the last
// test checks that the document shows exactly this code.

// embedding:begin
/// A chat server whose rooms live in the PostgreSQL database at `storeURL`, shared with every
/// server given the same database. Run the group it returns: the store first, so that services
/// stopping in reverse order stop it after the server (it then leaves the store).
func makeChatServer(
    storeURL: String, hostKey: RSAPrivateKey, password: String, port: Int,
    signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger
) async throws -> (group: ServiceGroup, server: LaboratoryServer) {
    let store = try await ChatStore.connectPostgres(
        configuration: try ChatStoreConfiguration(url: storeURL), logger: logger)
    var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
    configuration.port = port
    configuration.nodeNumber = store.node  // connection ids qualified by this server's node
    var services = ServiceRegistry()
    services.register(ChatService(store: store), as: ChatService.defaultName)
    let server = LaboratoryServer(configuration: configuration, services: services, logger: logger)
    let group = ServiceGroup(services: [store, server], gracefulShutdownSignals: signals, logger: logger)
    return (group, server)
}
// embedding:end

@Suite("The PostgreSQL chat store through the public API", .timeLimit(.minutes(2)))
struct ChatStoreEmbeddingTests {
    static let password = "embedding test password"

    /// A server of `makeChatServer` running in this process until `stop()`.
    struct RunningChatServer {
        let server: LaboratoryServer
        let group: ServiceGroup
        let task: Task<Void, any Error>
        let port: Int

        static func start(_ url: String, hostKey: RSAPrivateKey, label: String) async throws -> RunningChatServer {
            let logger = Logger(label: "embedding-tests.\(label)")
            let (group, server) = try await makeChatServer(
                storeURL: url, hostKey: hostKey, password: ChatStoreEmbeddingTests.password, port: 0, signals: [],
                logger: logger)
            let task = Task { try await group.run() }
            let port = try await server.listeningAddress().port ?? 0
            return RunningChatServer(server: server, group: group, task: task, port: port)
        }

        func connect(_ name: String, fingerprint: String) async throws -> ReconnectingChatSession {
            var configuration = ReconnectingChatSession.Configuration()
            configuration.policy = .never
            return try await ReconnectingChatSession.connect(
                host: "127.0.0.1", port: port, password: ChatStoreEmbeddingTests.password, name: name,
                trust: .pinned(fingerprint: fingerprint), configuration: configuration)
        }

        func stop() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    /// A temporary state directory's host key (generated: the public API's way to get one).
    static func hostKey() throws -> RSAPrivateKey {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("laboratory-embedding-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try StateDirectory(path: path).loadOrCreateHostKey().key
    }

    /// The next chat event `session` delivers that `matches`, or `nil` if its updates end first.
    static func next(
        _ session: ReconnectingChatSession, _ iterator: inout AsyncStream<ReconnectingChatSession.Update>.Iterator,
        where matches: (ChatEvent) -> Bool
    ) async -> ChatEvent? {
        while let update = await iterator.next() {
            if case .chat(let event) = update, matches(event) { return event }
            if case .ended = update { return nil }
        }
        return nil
    }

    @Test("two servers in one process, each with its own ChatStore on one database, share a room")
    func twoServersShareARoom() async throws {
        try await withPostgresDatabase { url in
            let key = try Self.hostKey()
            let fingerprint = key.publicKey.fingerprint
            let one = try await RunningChatServer.start(url, hostKey: key, label: "one")
            let two = try await RunningChatServer.start(url, hostKey: key, label: "two")

            let ada = try await one.connect("ada", fingerprint: fingerprint)
            let bob = try await two.connect("bob", fingerprint: fingerprint)
            // Node-qualified ids: the two servers are different nodes of one store.
            let adaNode = ada.session.acceptance.connectionID >> 40
            let bobNode = bob.session.acceptance.connectionID >> 40
            #expect(adaNode != 0 && bobNode != 0 && adaNode != bobNode, "nodes \(adaNode) and \(bobNode)")

            _ = try await ada.join("lab")
            let joined = try await bob.join("lab")
            // Presence spans both servers.
            #expect(Set(joined.members?.map(\.name) ?? []) == ["ada", "bob"], "\(joined)")

            var bobUpdates = bob.updates.makeAsyncIterator()
            let said = try await ada.chat(.say(room: "lab", text: "hello from one"))
            let heard = await Self.next(bob, &bobUpdates) { $0.kind == .message }
            #expect(heard?.text == "hello from one" && heard?.name == "ada")
            #expect(heard?.sequence != nil && heard?.sequence == said.sequence)

            // Stopping server one stops its store after it: bob hears ada leave.
            await ada.close()
            try await one.stop()
            let left = await Self.next(bob, &bobUpdates) { $0.kind == .left }
            #expect(left?.name == "ada")

            // A new server on the store continues the room's numbering and history.
            let three = try await RunningChatServer.start(url, hostKey: key, label: "three")
            let cy = try await three.connect("cy", fingerprint: fingerprint)
            var cyUpdates = cy.updates.makeAsyncIterator()
            let resumed = try await cy.chat(.join(room: "lab", after: 0))
            #expect(resumed.missedFrom == nil && (resumed.replayed ?? 0) >= 3, "\(resumed)")
            let replayed = await Self.next(cy, &cyUpdates) { $0.kind == .message }
            #expect(replayed?.text == "hello from one" && replayed?.sequence == said.sequence)

            await bob.close()
            await cy.close()
            try await two.stop()
            try await three.stop()
        }
    }

    @Test("a chat service on a store refuses requests from a server whose nodeNumber is not the store's node")
    func nodeNumberMustMatch() async throws {
        try await withPostgresDatabase { url in
            let key = try Self.hostKey()
            let store = try await ChatStore.connectPostgres(configuration: try ChatStoreConfiguration(url: url))
            var configuration = try ServerConfiguration(hostKey: key, password: Self.password)
            configuration.port = 0  // nodeNumber left at 0: ids would collide with other servers'
            var services = ServiceRegistry()
            services.register(ChatService(store: store), as: ChatService.defaultName)
            let server = LaboratoryServer(configuration: configuration, services: services)
            let group = ServiceGroup(services: [store, server], logger: Logger(label: "embedding-tests.mismatch"))
            let task = Task { try await group.run() }
            let port = try await server.listeningAddress().port ?? 0
            let session = try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: Self.password, name: "eve",
                trust: .pinned(fingerprint: key.publicKey.fingerprint))
            let error = try await #require(throws: ClientError.self) {
                try await session.chat(.join(room: "lab", after: nil))
            }
            #expect(error.message.contains("nodeNumber") && error.message.contains("node \(store.node)"), "\(error)")
            await session.close()
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    @Test("a malformed store URL is a ChatStoreError naming what is wrong")
    func malformedURL() throws {
        let error = try #require(throws: ChatStoreError.self) {
            try ChatStoreConfiguration(url: "postgres://db.example/chat")
        }
        #expect(error.description.contains("names no user"), "\(error)")
    }

    @Test("Docs/CHAT_STORE.md shows this file's embedding example exactly")
    func documentShowsTheExample() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: here, encoding: .utf8)
        let document = try String(contentsOf: root.appendingPathComponent("Docs/CHAT_STORE.md"), encoding: .utf8)
        let begin = try #require(source.range(of: "// embedding:begin\n"))
        let end = try #require(source.range(of: "// embedding:end\n"))
        let example = String(source[begin.upperBound..<end.lowerBound])
        #expect(document.contains("```swift\n" + example + "```"), "Docs/CHAT_STORE.md lacks the example")
    }
}
