import Foundation
@_spi(Benchmarks) import LaboratoryCrypto

/// The files a server keeps between runs: its host key and, if none is configured, its password.
///
/// The directory is private to the server's user: created with mode 0700, and an existing one
/// that others may read or enter is changed to 0700 (``prepare()`` says so), or refused if that
/// is impossible or it belongs to another user. Files are created with mode 0600 and written
/// atomically (a temporary file in the same directory, flushed, renamed into place), so a full
/// disk or a crash never leaves a truncated host key behind. Every problem is a
/// ``StateFileError`` naming the file and saying what to do.
public struct StateDirectory: Sendable {
    /// The directory.
    public let path: String

    /// The host key file, PKCS#8 PEM.
    public var hostKeyPath: String { path + "/host_key.pem" }
    /// The generated password file.
    public var passwordPath: String { path + "/password" }

    /// A state directory at `path` (created when first prepared).
    public init(path: String) { self.path = path }

    /// Creates the directory (mode 0700) if it does not exist, and makes an existing one private.
    ///
    /// - Returns: a notice for the operator if the directory's mode had to be changed, else `nil`.
    /// - Throws: ``StateFileError`` if `path` is not a directory, belongs to another user, or is
    ///   open to others and cannot be changed.
    @discardableResult
    public func prepare() throws(StateFileError) -> String? {
        var status = stat()
        // `stat`, not `lstat`: a state directory may be a symbolic link to the real one.
        if stat(path, &status) != 0 {
            let code = errno
            if code == ENOTDIR {
                // A part of the path is a file: the directory can never be created there.
                throw StateFileError(
                    .writeFailed, path: path,
                    "could not create the state directory \(path): a part of its path is a file, not a directory; "
                        + "choose another --state-dir", systemError: code)
            }
            guard code == ENOENT else {
                throw StateFileError(
                    .unreadable, path: path, "cannot use the state directory \(path): \(PrivateFile.reason(code))",
                    systemError: code)
            }
            // Like `mkdir -p`: missing parents get the default mode, the directory itself 0700.
            var prefix = path.hasPrefix("/") ? "" : "."
            let components = path.split(separator: "/")
            for (index, component) in components.enumerated() {
                prefix += "/" + component
                guard mkdir(prefix, index == components.count - 1 ? 0o700 : 0o755) != 0 else { continue }
                let code = errno
                guard code == EEXIST else {
                    throw StateFileError(
                        .writeFailed, path: path,
                        "could not create the state directory \(path): \(PrivateFile.reason(code))",
                        systemError: code)
                }
            }
            return nil
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw StateFileError(
                .notADirectory, path: path,
                "the state directory \(path) is not a directory; remove it or choose another --state-dir")
        }
        let mode = status.st_mode & 0o7777
        guard mode & 0o077 != 0 else { return nil }
        guard status.st_uid == geteuid(), chmod(path, 0o700) == 0 else {
            throw StateFileError(
                .insecureDirectory, path: path,
                "the state directory \(path) has mode \(String(mode, radix: 8)), open to other users, and it could "
                    + "not be changed to 700 (it belongs to uid \(status.st_uid), this is uid \(geteuid())); "
                    + "run chmod 700 on it as its owner or choose another --state-dir")
        }
        return "the state directory \(path) had mode \(String(mode, radix: 8)); changed it to 700 so only this "
            + "user can read the host key"
    }

    /// Loads the host key, or generates a 2048-bit key and saves it. `created` says which.
    ///
    /// - Throws: ``StateFileError`` if the key file is unreadable, empty (an interrupted write)
    ///   or not a PEM private key, or the directory is unusable; the message says what to do.
    public func loadOrCreateHostKey() throws -> (key: RSAPrivateKey, created: Bool) {
        try prepare()
        let file = hostKeyPath
        if let bytes = try PrivateFile.contents(of: file, what: "the host key") {
            let advice =
                "move it away to generate a new identity (clients will then need to re-pin), "
                + "or restore it from a backup"
            guard !bytes.isEmpty else {
                throw StateFileError(
                    .empty, path: file, "the host key \(file) is empty, probably from an interrupted write; \(advice)")
            }
            guard let pem = String(validating: bytes, as: UTF8.self), let key = try? RSAPrivateKey(pem: pem) else {
                throw StateFileError(
                    .invalidKey, path: file, "the host key \(file) is not a PEM private key; \(advice)")
            }
            return (key, false)
        }
        let key = try RSAPrivateKey(bitCount: 2048)
        try PrivateFile.writeAtomically(Array(try key.pkcs8PEM.utf8), to: file, in: path)
        return (key, true)
    }

    /// Loads the stored password, or generates a strong random one (24 random bytes, base64) and
    /// saves it. `created` says which.
    ///
    /// - Throws: ``StateFileError`` if the stored file breaks the rules of
    ///   ``readPassword(file:)`` or the directory is unusable.
    public func loadOrCreatePassword() throws -> (password: String, created: Bool) {
        try prepare()
        if FileManager.default.fileExists(atPath: passwordPath) {
            return (try Self.readPassword(file: passwordPath), false)
        }
        let password = Base64.encode(try SecureRandom.bytes(count: 24))
        try PrivateFile.writeAtomically(Array((password + "\n").utf8), to: passwordPath, in: path)
        return (password, true)
    }

    /// Reads a password file: the password is its first line (without the line break, `\n` or
    /// `\r\n`).
    ///
    /// - Throws: ``StateFileError`` naming the file if it is unreadable, is not UTF-8 text (or
    ///   holds a NUL byte anywhere, or a control character in the first line), or its first line
    ///   is empty.
    public static func readPassword(file: String) throws(StateFileError) -> String {
        guard let bytes = try PrivateFile.contents(of: file, what: "the password file") else {
            throw StateFileError(
                .unreadable, path: file,
                "the password file \(file) does not exist; create it with the password on its first line",
                systemError: ENOENT)
        }
        let advice = "put the password on its first line as UTF-8 text"
        guard !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil else {
            throw StateFileError(
                .notText, path: file, "the password file \(file) is not a text file (binary data); \(advice)")
        }
        // Split on bytes: Swift treats "\r\n" as one Character, which is not "\n".
        var lineBytes = bytes.prefix { $0 != 0x0A }
        if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
        let line = String(decoding: lineBytes, as: UTF8.self)
        guard !line.isEmpty else {
            throw StateFileError(.empty, path: file, "the password file \(file) has no password; \(advice)")
        }
        guard !line.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw StateFileError(
                .notText, path: file, "the password's line in \(file) holds a control character; \(advice)")
        }
        return line
    }
}
