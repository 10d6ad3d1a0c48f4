/// The exit statuses of the executables, from BSD's `sysexits.h`, so that a script or a service
/// manager can tell a usage error from a busy port or an unreachable server. README.md,
/// "Exit statuses", lists which failure ends with which.
package enum ProcessExitStatus: Int32, Sendable, CaseIterable {
    /// Ran and stopped as asked.
    case success = 0
    /// EX_USAGE: a bad option or argument (out of range, malformed).
    case usage = 64
    /// EX_DATAERR: a file or a reply holds the wrong thing (a password file that is not text, a
    /// host key that is not a key, a weak password, a server key that is not the expected one).
    case dataError = 65
    /// EX_NOINPUT: an input file does not exist.
    case noInput = 66
    /// EX_NOHOST: a host name that does not resolve, or an address not on this machine.
    case noHost = 68
    /// EX_UNAVAILABLE: the port is in use, or the server refused or did not answer the connection.
    case unavailable = 69
    /// EX_SOFTWARE: an unexpected internal error.
    case software = 70
    /// EX_CANTCREAT: a file or directory cannot be created (the state directory is a file, the
    /// disk is full).
    case cannotCreate = 73
    /// EX_IOERR: a file could not be read for another reason.
    case ioError = 74
    /// EX_TEMPFAIL: try again later (the handshake timed out, the server refused for now or
    /// closed the session).
    case temporaryFailure = 75
    /// EX_PROTOCOL: the server broke the protocol.
    case protocolError = 76
    /// EX_NOPERM: permission denied (a file's mode, a privileged port, a wrong password).
    case noPermission = 77
    /// EX_CONFIG: something needed is not configured (no password and no terminal to ask on).
    case config = 78
}

/// A failure of an executable as its user sees it: one line and an exit status.
package struct ExitReport: Error, Hashable, Sendable {
    /// One line (no line break) naming the thing concerned, what happened and what to do.
    package var message: String
    /// The status the process exits with.
    package var status: ProcessExitStatus

    package init(_ status: ProcessExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}
