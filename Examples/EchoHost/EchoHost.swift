// The smallest program that embeds Laboratory: an Echo server (port 12801 unless --port says
// otherwise) with a key and a password kept in ./.echo-host. Run it, then connect any Laboratory
// client.
import ArgumentParser
import Laboratory
import ServiceLifecycle

@main
struct EchoHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "EchoHost",
        abstract: "An example host: the Echo service only, on 127.0.0.1.",
        discussion: "The host key and a generated password are kept in --state-dir.",
        version: LaboratoryVersion.current)

    @Option(help: "The port to listen on (1 to 65535).")
    var port = 12801

    @Option(help: "Where the host key and generated password are kept.")
    var stateDir = "./.echo-host"

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535, not \(port)") }
    }

    func run() async throws {
        let state = StateDirectory(path: stateDir)
        let (hostKey, _) = try state.loadOrCreateHostKey()
        let (password, _) = try state.loadOrCreatePassword()
        var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
        configuration.port = port

        var services = ServiceRegistry()
        services.register(EchoService(), as: "echo")

        let server = LaboratoryServer(configuration: configuration, services: services)
        print(
            "Echo host on 127.0.0.1:\(port), key \(hostKey.publicKey.fingerprint), password in \(state.passwordPath)")
        try await ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: .init(label: "echo-host")
        )
        .run()
    }
}
