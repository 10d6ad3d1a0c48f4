import LaboratoryProtocol

extension ExitReport {
    /// The one line and exit status the `laboratory` client ends with when connecting to or
    /// talking to `endpoint` (`HOST:PORT`) fails with `error`. README.md, "Exit statuses",
    /// documents the statuses.
    package static func client(for error: ClientError, endpoint: String) -> ExitReport {
        let host =
            endpoint.hasPrefix("[")
            ? String(endpoint.dropFirst().prefix { $0 != "]" })
            : String(endpoint.prefix { $0 != ":" })
        switch error.code {
        case .connectionFailed:
            switch error.connectFailure ?? .other {
            case .refused:
                return ExitReport(
                    .unavailable,
                    "cannot connect to \(endpoint): connection refused; check that the server is running and "
                        + "listening on that port")
            case .unknownHost:
                return ExitReport(
                    .noHost, "cannot connect to \(endpoint): the host name \(host) does not resolve; check its spelling"
                )
            case .timedOut:
                return ExitReport(
                    .unavailable,
                    "cannot connect to \(endpoint): no answer before the connect timeout; check the address "
                        + "and any firewall between")
            case .unreachable:
                return ExitReport(
                    .unavailable, "cannot connect to \(endpoint): no route to the host; check the address and network")
            case .other:
                return ExitReport(.unavailable, oneLine(error.message))
            }
        case .wrongPassword:
            return ExitReport(
                .noPermission,
                "wrong password for \(endpoint); check --password-file or LABORATORY_PASSWORD")
        case .serverKeyMismatch:
            return ExitReport(.dataError, "server key mismatch for \(endpoint): " + oneLine(error.message))
        case .handshakeTimeout:
            return ExitReport(
                .temporaryFailure, "the handshake with \(endpoint) timed out; try again, or check the server's load")
        case .rejected where error.retryAfter != nil:
            // A locked-out address: the server says for how long (PROTOCOL.md §9, Admission).
            let wait = error.retryAfter.map(\.spoken) ?? ""
            return ExitReport(
                .temporaryFailure,
                "the server at \(endpoint) refused the connection: this address is locked out for \(wait) "
                    + "after too many failures; try again then")
        case .nameRejected:
            let reason = error.nameRejection?.reason ?? error.message
            return ExitReport(
                .dataError,
                "the server at \(endpoint) rejected the name: " + oneLine(reason) + "; choose another with --name")
        case .rejected, .connectionClosed:
            let reason = error.closeReason.map { ": \($0.message) (\($0.code))" } ?? ": " + oneLine(error.message)
            return ExitReport(.temporaryFailure, "the server at \(endpoint) closed the connection" + oneLine(reason))
        case .protocolViolation, .decryptionFailed:
            return ExitReport(.protocolError, "the server at \(endpoint) broke the protocol: " + oneLine(error.message))
        case .requestFailed:
            return ExitReport(.unavailable, "the request to \(endpoint) failed: " + oneLine(error.message))
        default:
            return ExitReport(.software, oneLine(error.description))
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
