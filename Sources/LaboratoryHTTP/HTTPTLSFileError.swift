import Foundation

/// A TLS certificate chain or private key file for the HTTP listener that cannot be read or is not
/// PEM: its message names the file and what to do.
public struct HTTPTLSFileError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public let path: String
    /// One line: the file, what is wrong, what to do.
    public let description: String

    init(path: String, what: String, error: (any Error)?) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        let problem =
            !exists
            ? "does not exist"
            : FileManager.default.isReadableFile(atPath: path)
                ? "is not a PEM \(what)\(error.map { " (\($0))" } ?? "")" : "cannot be read (check its owner and mode)"
        self.description = "the HTTP listener's TLS \(what) \(path) \(problem)"
    }
}
