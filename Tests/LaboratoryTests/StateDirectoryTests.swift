import Foundation
import Laboratory
import LaboratoryCrypto
import LaboratoryProtocol
import Testing

/// The server's files on a real file system: permissions, interrupted writes, and the messages an
/// operator sees for a bad key or password file.
// Each refusal is its own test, opening the same way on a scratch folder, so that a failure names the state refused.
@Suite("State directory and password files")
struct StateDirectoryTests {
    /// A fresh directory under the system's temporary directory, removed at the end.
    final class Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("state-test-\(UUID().uuidString)")
            .path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let file = path + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            return file
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test("a new directory is created 0700; the key and password 0600, with no temporary file left behind")
    func createsPrivateFiles() throws {
        let scratch = try Scratch()
        let state = StateDirectory(path: scratch.path + "/new/state")
        let (key, created) = try state.loadOrCreateHostKey()
        #expect(created)
        let (password, passwordCreated) = try state.loadOrCreatePassword()
        #expect(passwordCreated)
        #expect(try Self.mode(state.path) == 0o700)
        #expect(try Self.mode(state.hostKeyPath) == 0o600)
        #expect(try Self.mode(state.passwordPath) == 0o600)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: state.path).sorted() == ["host_key.pem", "password"])
        let (again, createdAgain) = try state.loadOrCreateHostKey()
        #expect(!createdAgain)
        #expect(again.publicKey.fingerprint == key.publicKey.fingerprint)
        #expect(try state.loadOrCreatePassword() == (password, false))
    }

    @Test("an existing directory open to others is changed to 0700, with a notice naming it")
    func fixesOpenDirectory() throws {
        let scratch = try Scratch()
        #expect(chmod(scratch.path, 0o755) == 0)
        let state = StateDirectory(path: scratch.path)
        let notice = try #require(try state.prepare())
        #expect(notice.contains(scratch.path) && notice.contains("755") && notice.contains("700"))
        #expect(try Self.mode(scratch.path) == 0o700)
        #expect(try state.prepare() == nil)
        // Loading the key goes through the same check.
        #expect(chmod(scratch.path, 0o750) == 0)
        _ = try state.loadOrCreateHostKey()
        #expect(try Self.mode(scratch.path) == 0o700)
    }

    @Test("an open directory owned by another user is refused, not silently used")
    func refusesForeignOpenDirectory() throws {
        let scratch = try Scratch()
        let foreign = scratch.path + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: false)
        #expect(chmod(foreign, 0o755) == 0)
        // Only root can give a directory away; as another user, a directory of root's serves.
        if geteuid() == 0 { #expect(chown(foreign, 65534, 65534) == 0) }
        let target = geteuid() == 0 ? foreign : "/"
        let error = try #require(throws: StateFileError.self) { try StateDirectory(path: target).prepare() }
        #expect(error.kind == .insecureDirectory)
        #expect(error.message.contains(target) && error.message.contains("chmod 700"))
    }

    @Test("a state directory reached through a symbolic link is used, and the real directory kept private")
    func symbolicLink() throws {
        let scratch = try Scratch()
        let real = scratch.path + "/real"
        try FileManager.default.createDirectory(
            atPath: real, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let link = scratch.path + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let (_, created) = try StateDirectory(path: link).loadOrCreateHostKey()
        #expect(created)
        #expect(try Self.mode(real) == 0o700)
        #expect(FileManager.default.fileExists(atPath: real + "/host_key.pem"))
    }

    @Test("a state path that is a file is refused with a clear message")
    func refusesFile() throws {
        let scratch = try Scratch()
        let file = try scratch.file("not-a-directory", Array("x".utf8))
        let error = try #require(throws: StateFileError.self) { try StateDirectory(path: file).loadOrCreateHostKey() }
        #expect(error.kind == .notADirectory)
        #expect(error.message.contains(file) && error.message.contains("not a directory"))
    }

    @Test("a state path under a file cannot be created: EX_CANTCREAT, naming the path")
    func pathUnderAFile() throws {
        let scratch = try Scratch()
        let file = try scratch.file("a-file", Array("x".utf8))
        let error = try #require(throws: StateFileError.self) { try StateDirectory(path: file + "/state").prepare() }
        #expect(error.kind == .writeFailed)
        #expect(error.message.contains(file + "/state") && error.message.contains("a part of its path is a file"))
        #expect(ExitReport.server(for: error, address: "").status == .cannotCreate)
    }

    @Test("a 0-byte host key (a write cut short) is refused, naming the file and what to do")
    func emptyHostKey() throws {
        let scratch = try Scratch()
        let state = StateDirectory(path: scratch.path)
        _ = try scratch.file("host_key.pem", [])
        let error = try #require(throws: StateFileError.self) { try state.loadOrCreateHostKey() }
        #expect(error.kind == .empty)
        #expect(error.message.contains(state.hostKeyPath))
        #expect(error.message.contains("move it away") && error.message.contains("re-pin"))
        // Nothing was overwritten: the operator decides.
        #expect(try FileManager.default.attributesOfItem(atPath: state.hostKeyPath)[.size] as? Int == 0)
    }

    @Test("a host key that is not a PEM key, or cannot be read, is refused naming the file")
    func badHostKey() throws {
        let scratch = try Scratch()
        let state = StateDirectory(path: scratch.path)
        _ = try scratch.file("host_key.pem", Array("-----BEGIN PRIVATE KEY-----\ngarbage\n".utf8))
        let invalid = try #require(throws: StateFileError.self) { try state.loadOrCreateHostKey() }
        #expect(invalid.kind == .invalidKey)
        #expect(invalid.message.contains(state.hostKeyPath) && invalid.message.contains("not a PEM private key"))

        try FileManager.default.removeItem(atPath: state.hostKeyPath)
        try FileManager.default.createDirectory(atPath: state.hostKeyPath, withIntermediateDirectories: false)
        let unreadable = try #require(throws: StateFileError.self) { try state.loadOrCreateHostKey() }
        #expect(unreadable.kind == .unreadable)
        #expect(unreadable.message.contains(state.hostKeyPath) && unreadable.message.contains("directory"))
    }

    @Test("password files: the first line, without \\n or \\r\\n")
    func passwordFirstLine() throws {
        let scratch = try Scratch()
        #expect(try StateDirectory.readPassword(file: scratch.file("a", Array("pässword\n".utf8))) == "pässword")
        #expect(try StateDirectory.readPassword(file: scratch.file("b", Array("pw one\r\nsecond".utf8))) == "pw one")
        #expect(try StateDirectory.readPassword(file: scratch.file("c", Array("no newline".utf8))) == "no newline")
    }

    @Test(
        "a binary, empty or missing password file is refused naming the file",
        arguments: [
            ([0xFF, 0xFE, 0x70, 0x00, 0x77, 0x00], "notText"),  // UTF-16
            (Array("password\n".utf8) + [0x00, 0x01], "notText"),  // a NUL after the first line
            (Array("pass\u{1B}[2Jword".utf8), "notText"),  // a control character
            ([0xC3, 0x28], "notText"),  // invalid UTF-8
            ([], "empty"),
            (Array("\nsecond line".utf8), "empty"),
        ] as [([UInt8], String)])
    func badPasswordFile(bytes: [UInt8], kind: String) throws {
        let scratch = try Scratch()
        let file = try scratch.file("password", bytes)
        let error = try #require(throws: StateFileError.self) { try StateDirectory.readPassword(file: file) }
        #expect(error.kind.description == kind)
        #expect(error.message.contains(file) && error.message.contains("first line"))
        #expect(!error.message.contains("NSCocoaErrorDomain"))
    }

    @Test("a missing password file is refused naming it")
    func missingPasswordFile() throws {
        let scratch = try Scratch()
        let error = try #require(throws: StateFileError.self) {
            try StateDirectory.readPassword(file: scratch.path + "/absent")
        }
        #expect(error.message.contains(scratch.path + "/absent") && error.message.contains("does not exist"))
    }

    @Test("the stored password file follows the same rules")
    func storedPasswordChecked() throws {
        let scratch = try Scratch()
        let state = StateDirectory(path: scratch.path)
        _ = try scratch.file("password", [0x00, 0x00])
        let error = try #require(throws: StateFileError.self) { try state.loadOrCreatePassword() }
        #expect(error.kind == .notText && error.path == state.passwordPath)
    }
}
