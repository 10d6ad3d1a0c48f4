import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryLegacy
import LaboratoryTestSupport
import Testing

/// `python3` running one of the prototype scripts next to this file.
private func prototypeScript(_ script: String, _ arguments: [String]) throws -> ChildProcess {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(script).path
    return try ChildProcess(executable: URL(fileURLWithPath: "/usr/bin/env"), arguments: ["python3", path] + arguments)
}

@Suite("Legacy v0 listener, driven by a Python prototype client", .timeLimit(.minutes(2)))
struct LegacyPrototypeClientTests {
    @Test(
        "prototype scenarios pass against our server",
        arguments: ["echo", "batched", "split", "wrong_password", "timeout", "stop_server_ignored"])
    func scenario(_ name: String) async throws {
        try await withLegacyServer(stepTimeout: name == "timeout" ? .seconds(1) : .seconds(10)) { _, port in
            let client = try prototypeScript("legacy_client.py", [name, "\(port)", LiveServer.password])
            let output = await client.remainingLines()
            let exit = await client.waitForExit()
            #expect(exit.status == 0, "\(output) \(exit.stderr)")
            #expect(output.last == "OK", "\(output)")
            if name == "echo" { #expect(output.contains("server name: Laboratory")) }
        }
    }

    @Test("on shutdown the server sends STOP SERVER to prototype clients")
    func shutdownNotice() async throws {
        try await withLegacyServer { live, port in
            let client = try prototypeScript(
                "legacy_client.py", ["shutdown", "\(port)", LiveServer.password])
            #expect(await client.nextLine() == "READY")
            await live.group.triggerGracefulShutdown()
            let output = await client.remainingLines()
            #expect(await client.waitForExit().status == 0, "\(output)")
        }
    }

    @Test("a prototype client and a v1 client chat in the same room")
    func mixedRoom() async throws {
        try await withLegacyServer { live, port in
            let legacy = try prototypeScript("legacy_client.py", ["chat", "\(port)", LiveServer.password])
            #expect(await legacy.nextLine() == "READY")
            let session = try await live.connect(name: "swift-sam")
            var events = session.events.makeAsyncIterator()
            _ = try await session.chat(.join(room: "lobby", after: nil))
            _ = try await session.chat(.say(room: "lobby", text: "hi from v1"))
            var reply: ChatEvent?
            while reply == nil, let event = await events.next() {
                if case .service(let serviceEvent) = event, let chat = ChatEvent(serviceEvent), chat.kind == .message,
                    chat.name == "legacy-ann"
                {
                    reply = chat
                }
            }
            #expect(reply?.text == "hello from the prototype")
            let output = await legacy.remainingLines()
            #expect(await legacy.waitForExit().status == 0, "\(output)")
            await session.close()
        }
    }
}

@Suite("Swift client in legacy mode", .timeLimit(.minutes(2)))
struct LegacyPrototypeServerTests {
    @Test("talks to a Python prototype server")
    func againstPythonPrototype() async throws {
        let fixture = try prototypeScript("legacy_server.py", ["fixture-password", "Prototype"])
        let portLine = try #require(await fixture.value(after: "PORT "))
        let port = try #require(Int(portLine))
        let session = try await LegacyClientSession.connect(
            host: "127.0.0.1", port: port, password: "fixture-password", name: "swift")
        try await session.send("hello")
        #expect(await session.receive() == "I received \"hello\" from you.")
        #expect(try await session.serverName() == "Prototype")
        try await session.send("QUIT FIXTURE")
        #expect(await session.receive() == "STOP SERVER")
        await session.close()
        #expect(await fixture.waitForExit().status == 0)
    }

}
