import LaboratoryProtocol
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A listener that could not bind, with the address and the option that chose it, so that the
/// report can say which port of several was the problem.
package struct ListenerBindError: Error {
    /// The option the operator set the port with, such as `--legacy-port`.
    package var option: String
    /// `HOST:PORT` as configured.
    package var address: String
    /// What the bind threw.
    package var underlying: any Error

    package init(option: String, address: String, underlying: any Error) {
        self.option = option
        self.address = address
        self.underlying = underlying
    }
}

extension ExitReport {
    /// The one line and exit status `laboratory-server` ends with when starting or running
    /// throws `error`. `address` is the main listener's `HOST:PORT`, named when a bind fails.
    /// README.md, "Exit statuses", documents the statuses.
    package static func server(for error: any Error, address: String) -> ExitReport {
        switch error {
        case let report as ExitReport:
            return report
        case let error as StateFileError:
            return ExitReport(status(for: error), error.message)
        case let error as ConfigurationError:
            return ExitReport(.dataError, "refusing to start: \(error.message)")
        case let error as ListenerBindError:
            return bindReport(error.underlying, address: error.address, option: error.option)
        default:
            return bindReport(error, address: address, option: "--port")
        }
    }

    private static func status(for error: StateFileError) -> ProcessExitStatus {
        switch (error.kind, error.systemError) {
        case (_, EACCES?), (_, EPERM?), (.insecureDirectory, _): return .noPermission
        // A file or folder that cannot be created, whatever the reason (mkdir's ENOENT included).
        case (.writeFailed, _): return .cannotCreate
        case (_, ENOENT?): return .noInput
        case (.empty, _), (.notText, _), (.invalidKey, _): return .dataError
        case (.notADirectory, _): return .cannotCreate
        default: return .ioError
        }
    }

    /// A failure to listen (or an unexpected error, reported as one line).
    private static func bindReport(_ error: any Error, address: String, option: String) -> ExitReport {
        let host = address.split(separator: ":").dropLast().joined(separator: ":")
        if let error = error as? IOError {
            switch error.errnoCode {
            case EADDRINUSE:
                return ExitReport(
                    .unavailable,
                    "cannot listen on \(address): the address is already in use by another program; "
                        + "stop that program or choose another \(option)")
            case EACCES, EPERM:
                return ExitReport(
                    .noPermission,
                    "cannot listen on \(address): permission denied (ports below 1024 need privileges); "
                        + "choose another \(option) from 1024 up")
            case EADDRNOTAVAIL:
                return ExitReport(
                    .noHost,
                    "cannot listen on \(address): \(host) is not an address of this machine; "
                        + "use one of its addresses with --host, or 0.0.0.0 for all")
            default:
                break
            }
        }
        if error is SocketAddressError.UnknownHost || error is SocketAddressError {
            return ExitReport(
                .noHost,
                "cannot listen on \(address): the host name \(host) does not resolve; "
                    + "use an address of this machine with --host")
        }
        let text = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
        return ExitReport(.software, "stopped by an unexpected error: \(text)")
    }
}
