import Laboratory
import LaboratoryProtocol
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `laboratory-server`'s mapping from what stopped it to its one line and exit status.
@Suite("Server exit reports")
struct ServerExitReportTests {
    private static let address = "127.0.0.1:12800"

    @Test(
        "each kind of state-file problem has its status",
        arguments: [
            (
                StateFileError(.unreadable, path: "/p", "the password file /p does not exist", systemError: ENOENT),
                ProcessExitStatus.noInput
            ),
            (StateFileError(.unreadable, path: "/p", "cannot read /p: denied", systemError: EACCES), .noPermission),
            (StateFileError(.unreadable, path: "/p", "cannot read /p: I/O error", systemError: EIO), .ioError),
            (StateFileError(.notText, path: "/p", "not a text file"), .dataError),
            (StateFileError(.empty, path: "/p", "empty"), .dataError),
            (StateFileError(.invalidKey, path: "/p", "not a key"), .dataError),
            (StateFileError(.notADirectory, path: "/p", "not a directory"), .cannotCreate),
            (StateFileError(.writeFailed, path: "/p", "disk full", systemError: ENOSPC), .cannotCreate),
            (StateFileError(.writeFailed, path: "/proc/p", "mkdir: no such file", systemError: ENOENT), .cannotCreate),
            (StateFileError(.writeFailed, path: "/p", "denied", systemError: EACCES), .noPermission),
            (StateFileError(.insecureDirectory, path: "/p", "open to others"), .noPermission),
        ])
    func stateFiles(error: StateFileError, status: ProcessExitStatus) {
        let report = ExitReport.server(for: error, address: Self.address)
        #expect(report == ExitReport(status, error.message))
    }

    @Test("a port in use names the address and the option that chose it")
    func portInUse() {
        let inUse = IOError(errnoCode: EADDRINUSE, reason: "bind")
        let main = ExitReport.server(for: inUse, address: Self.address)
        #expect(main.status == .unavailable)
        #expect(main.message.contains("127.0.0.1:12800") && main.message.contains("in use"))
        #expect(main.message.hasSuffix("choose another --port"))

        let legacy = ExitReport.server(
            for: ListenerBindError(option: "--legacy-port", address: "127.0.0.1:4444", underlying: inUse),
            address: Self.address)
        #expect(legacy.status == .unavailable)
        #expect(legacy.message.contains("127.0.0.1:4444") && legacy.message.hasSuffix("choose another --legacy-port"))
    }

    @Test("a privileged port, an address not on this machine and an unknown host name")
    func bindFailures() throws {
        let denied = ExitReport.server(for: IOError(errnoCode: EACCES, reason: "bind"), address: "127.0.0.1:80")
        #expect(denied.status == .noPermission && denied.message.contains("127.0.0.1:80"))
        let elsewhere = ExitReport.server(
            for: IOError(errnoCode: EADDRNOTAVAIL, reason: "bind"), address: "192.0.2.1:12800")
        #expect(elsewhere.status == .noHost && elsewhere.message.contains("192.0.2.1 is not an address"))
        let unknown = #expect(throws: (any Error).self) {
            try SocketAddress.makeAddressResolvingHost("nohost.invalid", port: 1)
        }
        let report = ExitReport.server(for: try #require(unknown), address: "nohost.invalid:12800")
        #expect(report.status == .noHost)
        #expect(report.message.contains("nohost.invalid does not resolve"))
    }

    @Test("a weak password is a data error; anything else is one line with EX_SOFTWARE")
    func otherFailures() {
        let weak = ExitReport.server(for: ConfigurationError("the server password is empty"), address: Self.address)
        #expect(weak == ExitReport(.dataError, "refusing to start: the server password is empty"))
        struct Odd: Error, CustomStringConvertible { var description: String { "first\nsecond" } }
        let odd = ExitReport.server(for: Odd(), address: Self.address)
        #expect(odd.status == .software && !odd.message.contains("\n") && odd.message.contains("first second"))
    }

    @Test("the statuses are sysexits values, each used once")
    func distinct() {
        let values = ProcessExitStatus.allCases.map(\.rawValue)
        #expect(Set(values).count == values.count)
        #expect(values.allSatisfy { $0 == 0 || (64...78).contains($0) })
    }
}
