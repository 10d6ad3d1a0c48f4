import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a TCP connection could not be made, read from what NIO threw: what the client's one-line
/// report and exit status are chosen by.
package enum ConnectFailure: Hashable, Sendable {
    /// Nothing listens on the port (`ECONNREFUSED`).
    case refused
    /// The host name does not resolve.
    case unknownHost
    /// No answer within the connect timeout.
    case timedOut
    /// No route to the host or its network.
    case unreachable
    /// Something else.
    case other

    /// Classifies a connect error: a `NIOConnectionError` (name resolution, then each attempt),
    /// a bare `IOError`, a connect timeout or an unresolvable address.
    package init(classifying error: any Error) {
        switch error {
        case let error as NIOConnectionError:
            let attempts = error.connectionErrors.map { ConnectFailure(classifying: $0.error) }
            if attempts.isEmpty {
                self = error.dnsAError != nil || error.dnsAAAAError != nil ? .unknownHost : .other
            } else {
                self = [.refused, .unreachable, .timedOut].first(where: attempts.contains) ?? .other
            }
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: self = .refused
            case ENETUNREACH, EHOSTUNREACH: self = .unreachable
            case ETIMEDOUT: self = .timedOut
            default: self = .other
            }
        case ChannelError.connectTimeout:
            self = .timedOut
        case is SocketAddressError, is SocketAddressError.UnknownHost:
            self = .unknownHost
        default:
            self = .other
        }
    }
}
