import Laboratory
import LaboratoryLegacy
import Testing

/// A live server with a legacy listener on a free port. Steps get 10 s unless a test needs the
/// prototype's 1 s: a loaded test machine cannot always answer within one second.
package func withLegacyServer<T: Sendable>(
    stepTimeout: Duration = .seconds(10), maxStartups: MaxStartups = AdmissionPolicy().maxStartups,
    _ body: (LiveServer, Int) async throws -> T
) async throws -> T {
    var legacy = LegacyConfiguration(port: 0)
    legacy.stepTimeout = stepTimeout
    let listener = LegacyListener(configuration: legacy)
    return try await LiveServer.with(
        Tweak {
            $0.admission.penalties.wrongPasswordDelay = .milliseconds(50)
            $0.admission.maxStartups = maxStartups
        },
        listeners: [listener]
    ) { live in
        let port = try #require(listener.localAddress?.port)
        return try await body(live, port)
    }
}
