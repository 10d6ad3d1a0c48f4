extension LaboratoryServer {
    /// The password and admission settings in force.
    public nonisolated var liveSettings: LiveSettings { live.current }

    /// Puts `settings` in force at once, from any task, while the server runs (or before it
    /// starts): connections accepted from now on must give the new password and meet the new
    /// limits. No session is dropped: accepted sessions keep going, a lower limit only refuses
    /// newcomers until the counts fall below it, and a handshake already under way keeps the
    /// password it was offered at connection.
    ///
    /// Logs at `info` what changed (never the password, only that it changed) and returns the
    /// same list, one entry a setting, such as `"admission.maximumConnections 16384 -> 100"` or
    /// `"password"`; empty if nothing changed. Safe to call from several tasks at once: each call
    /// replaces the settings whole.
    @discardableResult
    public nonisolated func reload(_ settings: LiveSettings) -> [String] {
        let old = live.replace(with: settings)
        let changes = settings.changes(from: old)
        if changes.isEmpty {
            logger.info("reloaded: no live setting changed")
        } else {
            logger.info("reloaded live settings", metadata: ["changed": "\(changes.joined(separator: "; "))"])
        }
        return changes
    }
}
