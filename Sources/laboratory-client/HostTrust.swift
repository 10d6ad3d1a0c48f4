import LaboratoryClient
import LaboratoryProtocol
import NIOConcurrencyHelpers

/// Decides whether to trust a server's key the way ssh's `StrictHostKeyChecking accept-new`
/// does, around the library's trust policies:
///
/// - `--fingerprint` pins one key and ignores the known-hosts file;
/// - a key recorded in the known-hosts file must match, or the server is refused with a message
///   naming the file;
/// - a new key is recorded at once with `--accept-new`; otherwise the client asks (on a terminal)
///   or refuses (without one). To ask without the server's handshake deadline running, it first
///   connects with a policy that notes the key and refuses it, so nothing is sent, asks, records
///   the answer, and then connects for real. The server does not penalise that first connection
///   (a look at the key, PROTOCOL.md §4: once per address a minute), so the user who accepts is
///   let in with no penalty.
struct HostTrust: Sendable {
    /// The known-hosts file.
    var knownHostsPath: String
    /// The only fingerprint to accept, if pinned.
    var pinnedFingerprint: String?
    /// Record new keys without asking.
    var acceptNew: Bool
    /// Asks a yes-or-no question; `nil` when there is nobody to ask.
    var ask: (@Sendable (String) -> Bool)?
    /// Tells the user something (a new key was recorded).
    var notice: @Sendable (String) -> Void

    /// Trust as the options ask; throws a usage failure if `pinnedFingerprint` is not of the form
    /// `SHA256:` and 43 base64 characters (a typo must not read as a key mismatch).
    init(
        knownHostsPath: String, pinnedFingerprint: String?, acceptNew: Bool, ask: (@Sendable (String) -> Bool)?,
        notice: @escaping @Sendable (String) -> Void
    ) throws(CommandFailure) {
        if let pinnedFingerprint, !ServerTrust.isWellFormed(fingerprint: pinnedFingerprint) {
            throw CommandFailure(
                "--fingerprint \"\(pinnedFingerprint)\" is not a key fingerprint; give it as the server prints it: "
                    + "SHA256: and 43 base64 characters", status: .usage)
        }
        self.knownHostsPath = knownHostsPath
        self.pinnedFingerprint = pinnedFingerprint
        self.acceptNew = acceptNew
        self.ask = ask
        self.notice = notice
    }

    /// Connects once trust is settled; `password` is called only then. `retryName` offers another
    /// name when the server rejects one (`nil`: the rejection fails the connect).
    func connect(
        to endpoint: Endpoint, name: String, retryName: (@Sendable (NameRejection) async -> String?)? = nil,
        password: () throws -> String
    ) async throws -> ClientSession {
        try await connect(to: endpoint, name: name, password: password) { endpoint, password, name, trust in
            try await ClientSession.connect(
                host: endpoint.host, port: endpoint.port, password: password, name: name, trust: trust,
                retryName: retryName)
        }
    }

    private func connect(
        to endpoint: Endpoint, name: String, password: () throws -> String,
        open: (Endpoint, String, String, ServerTrust) async throws -> ClientSession
    ) async throws -> ClientSession {
        if let pinnedFingerprint {
            return try await open(endpoint, password(), name, .pinned(fingerprint: pinnedFingerprint))
        }
        let known: String?
        do {
            known = try KnownHostsFile(path: knownHostsPath).fingerprint(for: endpoint.knownHostsKey)
        } catch {
            throw CommandFailure(
                "could not read the known-hosts file \(knownHostsPath): \(FileErrorText.reason(error)); "
                    + "fix or move it away", status: .ioError)
        }
        let recording = ServerTrust.knownHosts(file: knownHostsPath)
        if known != nil || acceptNew {
            let session: ClientSession
            if known == nil {
                session = try await openRecordingNewKey(endpoint, password: password(), name: name, open: open)
            } else {
                session = try await open(endpoint, password(), name, recording)
            }
            if known == nil {
                notice("Recorded the new server key \(session.serverFingerprint) for \(endpoint) in \(knownHostsPath)")
            }
            return session
        }
        let fingerprint = try await probe(endpoint)
        guard let ask else {
            throw CommandFailure(
                "unknown server key \(fingerprint) for \(endpoint); if it is right, run again with --accept-new "
                    + "or --fingerprint \(fingerprint)", status: .dataError)
        }
        let question =
            "The server at \(endpoint) has a key this client has not seen before:\n  \(fingerprint)\n"
            + "Trust it and remember it in \(knownHostsPath)? [yes/no] "
        guard ask(question) else {
            throw CommandFailure("the server's key was not trusted; nothing was sent", status: .dataError)
        }
        do {
            var file = try KnownHostsFile(path: knownHostsPath)
            try file.add(endpoint: endpoint.knownHostsKey, fingerprint: fingerprint)
        } catch {
            throw Self.cannotRecord(in: knownHostsPath, FileErrorText.reason(error))
        }
        // The file now holds the confirmed key: a server presenting another one is refused.
        return try await open(endpoint, password(), name, recording)
    }

    /// Connects, recording the server's new key in the known-hosts file as the library's
    /// known-hosts policy would (before anything is sent), except that a file that cannot be
    /// written is reported as such (EX_CANTCREAT), not as a key mismatch.
    private func openRecordingNewKey(
        _ endpoint: Endpoint, password: String, name: String,
        open: (Endpoint, String, String, ServerTrust) async throws -> ClientSession
    ) async throws -> ClientSession {
        let path = knownHostsPath
        let failure = NIOLockedValueBox<String?>(nil)
        let recordNew = ServerTrust.custom { fingerprint, key in
            do {
                var file = try KnownHostsFile(path: path)
                if let known = file.fingerprint(for: key) { return known == fingerprint }  // recorded meanwhile
                try file.add(endpoint: key, fingerprint: fingerprint)
                return true
            } catch {
                failure.withLockedValue { $0 = FileErrorText.reason(error) }
                return false
            }
        }
        do {
            return try await open(endpoint, password, name, recordNew)
        } catch let error as ClientError where error.code == .serverKeyMismatch {
            guard let reason = failure.withLockedValue({ $0 }) else { throw error }
            throw Self.cannotRecord(in: path, reason)
        }
    }

    private static func cannotRecord(in path: String, _ reason: String) -> CommandFailure {
        CommandFailure(
            "cannot record the server's key in the known-hosts file \(path): \(reason); nothing was sent; check "
                + "that its folder exists and may be written, or choose another --known-hosts", status: .cannotCreate)
    }

    /// Learns the server's fingerprint without sending anything: the policy notes it and refuses.
    private func probe(_ endpoint: Endpoint) async throws -> String {
        let seen = SeenFingerprint()
        let refuseAndNote = ServerTrust.custom { fingerprint, _ in
            seen.value.withLockedValue { $0 = fingerprint }
            return false
        }
        do {
            let session = try await ClientSession.connect(
                host: endpoint.host, port: endpoint.port, password: "", name: "", trust: refuseAndNote)
            await session.close()
        } catch let error as ClientError where error.code == .serverKeyMismatch {
            // Expected: the policy refused.
        }
        guard let fingerprint = seen.value.withLockedValue({ $0 }) else {
            throw CommandFailure("the server at \(endpoint) did not present a key", status: .protocolError)
        }
        return fingerprint
    }
}

/// The fingerprint a probing connection saw.
private final class SeenFingerprint: Sendable {
    let value = NIOLockedValueBox<String?>(nil)
}
