import Foundation

/// Where the server password comes from, first match wins: the `LABORATORY_PASSWORD`
/// environment variable, the first line of `--password-file`, or a prompt on the terminal with
/// echo off.
enum PasswordSource {
    static func resolve(file: String?, environment: [String: String], endpoint: Endpoint) throws -> String {
        if let password = environment["LABORATORY_PASSWORD"], !password.isEmpty { return password }
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw CommandFailure("could not read the password file \(file): \(error.localizedDescription)")
            }
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        guard Terminal.isTerminal(STDIN_FILENO) else {
            throw CommandFailure(
                "no password: set LABORATORY_PASSWORD or pass --password-file FILE (standard input is not a terminal)")
        }
        guard let password = Terminal.readSecret(prompt: "Password for \(endpoint): ") else {
            throw CommandFailure("no password entered")
        }
        return password
    }
}
