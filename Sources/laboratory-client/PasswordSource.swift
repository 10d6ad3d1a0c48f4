import Foundation
import LaboratoryProtocol
import LaboratoryTransport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the server password comes from, first match wins, the same order as the server's: the
/// first line of `--password-file` (an explicit flag), the `LABORATORY_PASSWORD` environment
/// variable, or a prompt on the terminal with echo off.
enum PasswordSource {
    static func resolve(file: String?, environment: [String: String], endpoint: Endpoint) throws -> String {
        if let file { return try read(file) }
        if let password = environment["LABORATORY_PASSWORD"], !password.isEmpty { return password }
        guard Terminal.isTerminal(STDIN_FILENO) else {
            throw CommandFailure(
                "no password: pass --password-file FILE or set LABORATORY_PASSWORD (standard input is not a terminal)",
                status: .config)
        }
        guard let password = Terminal.readSecret(prompt: "Password for \(endpoint): ") else {
            throw CommandFailure("no password entered", status: .config)
        }
        return password
    }

    /// The first line of `file`, warning on standard error when others may read it.
    private static func read(_ file: String) throws -> String {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        var code = descriptor < 0 ? errno : 0
        if descriptor >= 0 {
            // A directory opens, but is no password file (EISDIR, not "not UTF-8 text").
            var information = stat()
            if fstat(descriptor, &information) == 0, information.st_mode & S_IFMT == S_IFDIR { code = EISDIR }
            close(descriptor)
        }
        let text: String
        do {
            guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO) }
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            switch code {
            case ENOENT:
                throw CommandFailure(
                    "the password file \(file) does not exist; create it with the password on its first line",
                    status: .noInput)
            case EACCES, EPERM:
                throw CommandFailure(
                    "cannot read the password file \(file): permission denied; check its owner and mode",
                    status: .noPermission)
            default:
                throw CommandFailure(
                    "cannot read the password file \(file): \(code == 0 ? "it is not UTF-8 text" : String(cString: strerror(code))); "
                        + "put the password on its first line", status: code == 0 ? .dataError : .ioError)
            }
        }
        if let warning = FileExposure.check(path: file, what: "the password file") {
            Terminal.put("laboratory: warning: \(warning)\n", to: STDERR_FILENO)
        }
        return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }
}
