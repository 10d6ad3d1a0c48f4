#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The warning both executables print when a secret file (a password file, the host key) can be
/// read by users other than its owner, like ssh's "UNPROTECTED PRIVATE KEY FILE".
package enum FileExposure {
    /// One line warning that `path` (described as `what`) is open to others, or `nil` when `mode`
    /// (its permission bits) lets only its owner read it.
    package static func warning(path: String, mode: UInt32, what: String) -> String? {
        guard mode & 0o044 != 0 else { return nil }
        let who = mode & 0o004 != 0 ? "all users" : "its group"
        return "\(what) \(path) has mode \(String(mode & 0o777, radix: 8)), readable by \(who); "
            + "run chmod 600 on it so only its owner can read it"
    }

    /// ``warning(path:mode:what:)`` for the file at `path` now; `nil` if it is private or cannot
    /// be examined (reading it reports that).
    package static func check(path: String, what: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return warning(path: path, mode: UInt32(status.st_mode) & 0o7777, what: what)
    }
}
