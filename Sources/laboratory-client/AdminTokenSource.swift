import Foundation
import LaboratoryTransport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the admin token comes from, first match wins, the password's order: the first line of
/// `--token-file` (an explicit flag), the `LABORATORY_ADMIN_TOKEN` environment variable, or the
/// server's default state directory's `./.laboratory/admin_token`.
enum AdminTokenSource {
    static let defaultFile = "./.laboratory/admin_token"

    static func resolve(file: String?, environment: [String: String]) throws -> String {
        if let file { return try read(file, explicit: true) }
        if let token = environment["LABORATORY_ADMIN_TOKEN"], !token.isEmpty { return token }
        return try read(defaultFile, explicit: false)
    }

    private static func read(_ file: String, explicit: Bool) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            if !FileManager.default.fileExists(atPath: file) {
                throw explicit
                    ? CommandFailure("the token file \(file) does not exist", status: .noInput)
                    : CommandFailure(
                        "no admin token: pass --token-file FILE (the server's <state-dir>/admin_token) or set "
                            + "LABORATORY_ADMIN_TOKEN; \(file) does not exist", status: .config)
            }
            if !FileManager.default.isReadableFile(atPath: file) {
                throw CommandFailure(
                    "cannot read the token file \(file): permission denied; check its owner and mode",
                    status: .noPermission)
            }
            throw CommandFailure(
                "cannot read the token file \(file): it is not UTF-8 text or cannot be read", status: .ioError)
        }
        if let warning = FileExposure.check(path: file, what: "the admin token file") {
            Terminal.put("laboratory: warning: \(warning)\n", to: STDERR_FILENO)
        }
        let token = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else {
            throw CommandFailure("the token file \(file) is empty", status: .dataError)
        }
        return token
    }
}
