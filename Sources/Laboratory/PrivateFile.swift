import Foundation

/// Reads and writes the server's private files with plain system calls, so every failure can be
/// reported as a ``StateFileError`` naming the file (never a bare framework error), and so a
/// write is never seen half done.
enum PrivateFile {
    /// The file's bytes, or `nil` if there is nothing at `path`.
    static func contents(of path: String, what: String) throws(StateFileError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw StateFileError(
                .unreadable, path: path, "cannot read \(what) \(path): \(reason(code))", systemError: code)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw StateFileError(
                    .unreadable, path: path, "cannot read \(what) \(path): \(reason(code))", systemError: code)
            }
            bytes += chunk[0..<count]
            guard bytes.count <= 1 << 20 else {
                throw StateFileError(
                    .unreadable, path: path, "\(what) \(path) is larger than 1 MiB; it is not the file you meant")
            }
        }
    }

    /// Writes `bytes` to `path` so that `path` holds either its old content or all of the new:
    /// a new file in the same directory (mode 0600 from its creation), flushed to disk, renamed
    /// over `path`, then the directory flushed so the rename survives a crash.
    static func writeAtomically(_ bytes: [UInt8], to path: String, in directory: String) throws(StateFileError) {
        let temporary = directory + "/.\((path as NSString).lastPathComponent).\(UInt32.random(in: .min ... .max)).tmp"
        func fail(_ code: Int32, _ step: String) -> StateFileError {
            unlink(temporary)
            return StateFileError(
                .writeFailed, path: path,
                "could not write \(path) (\(step)): \(reason(code)); nothing was replaced; fix that and start again",
                systemError: code)
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw fail(errno, "creating a temporary file") }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                close(descriptor)
                throw fail(code, "writing")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            throw fail(code, "flushing to disk")
        }
        guard close(descriptor) == 0 else { throw fail(errno, "closing") }
        guard rename(temporary, path) == 0 else { throw fail(errno, "renaming into place") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            // The rename is done; a failure to flush the directory only weakens crash safety.
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// The system's text for an `errno` value, with advice for the usual ones.
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM: return "\(text) (check its owner and mode; the server needs to read it)"
        case EISDIR: return "\(text) (give the path of a file)"
        case ENOSPC, EDQUOT: return "\(text) (free some space)"
        default: return text
        }
    }
}
