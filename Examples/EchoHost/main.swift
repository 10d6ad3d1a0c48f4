// The smallest program that embeds Laboratory: an Echo server on port 12801 with a key and a
// password kept in ./.echo-host. Run it, then connect any Laboratory client.
import Laboratory
import ServiceLifecycle

let state = StateDirectory(path: "./.echo-host")
let (hostKey, _) = try state.loadOrCreateHostKey()
let (password, _) = try state.loadOrCreatePassword()
var configuration = try ServerConfiguration(hostKey: hostKey, password: password)
configuration.port = 12801

var services = ServiceRegistry()
services.register(EchoService(), as: "echo")

let server = LaboratoryServer(configuration: configuration, services: services)
print("Echo host on 127.0.0.1:12801, key \(hostKey.publicKey.fingerprint), password in \(state.passwordPath)")
try await ServiceGroup(
    services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: .init(label: "echo-host")
)
.run()
