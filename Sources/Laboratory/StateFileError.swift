/// A problem with one of the server's files (the state directory, the host key, a password file),
/// with a message that names the file and says what to do.
public struct StateFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem it is. New kinds may be added.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case unreadable, empty, notText, invalidKey, notADirectory, insecureDirectory, writeFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file could not be read (missing, permissions, a directory).
        public static let unreadable = Kind(.unreadable)
        /// The file is empty, or its first line is (for a password file).
        public static let empty = Kind(.empty)
        /// The password file is not UTF-8 text, or holds control characters.
        public static let notText = Kind(.notText)
        /// The host key file holds no usable private key.
        public static let invalidKey = Kind(.invalidKey)
        /// The state directory's path names something other than a directory.
        public static let notADirectory = Kind(.notADirectory)
        /// The state directory is open to others and could not be made private.
        public static let insecureDirectory = Kind(.insecureDirectory)
        /// A file could not be written (for example, the disk is full); nothing was replaced.
        public static let writeFailed = Kind(.writeFailed)

        public var description: String { "\(base)" }
    }

    /// What kind of problem it is.
    public let kind: Kind
    /// The file or directory concerned.
    public let path: String
    /// One line for the operator: what is wrong with which file and what to do.
    public let message: String
    /// The system's `errno` behind the problem, when there was one (`ENOENT` for a missing file,
    /// `EACCES` for permission denied): what the executable's exit status is chosen by.
    package let systemError: Int32?

    package init(_ kind: Kind, path: String, _ message: String, systemError: Int32? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.systemError = systemError
    }

    public var description: String { message }
}
