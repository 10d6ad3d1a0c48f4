import Logging
import ServiceLifecycle
import UnixSignals

/// Handles the signals that do not stop the server: SIGHUP reloads the configuration
/// (``ConfigurationReloader``); SIGUSR1 and SIGUSR2 are ignored with a log line (reserved). The
/// stopping signals (SIGTERM, SIGINT, SIGQUIT) belong to the `ServiceGroup`, which shuts down
/// gracefully on each. Runs until the graceful shutdown.
struct SignalService: Service {
    /// Installed before the server listens, so that a SIGHUP from then on never kills it.
    let signals: UnixSignalsSequence
    let reloader: ConfigurationReloader
    let logger: Logger

    static let trapped: [UnixSignal] = [.sighup, .sigusr1, .sigusr2]

    func run() async throws {
        for await signal in signals.cancelOnGracefulShutdown() {
            if signal == .sighup {
                _ = try? await reloader.reload()
            } else {
                logger.notice(
                    "ignored a signal: only SIGHUP (reload), SIGTERM, SIGINT and SIGQUIT (stop) act",
                    metadata: ["signal": "\(signal)"])
            }
        }
    }
}
