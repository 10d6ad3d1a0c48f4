import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A server under test, as a child process: started, read back for its port, watched through
/// `/proc` for CPU time and resident memory, and stopped.
final class ServerProcess: @unchecked Sendable {
    let name: String
    /// nil for a server this generator did not start (`--attach-laboratory`).
    let process: Process?
    let pid: Int32
    let port: Int

    private init(name: String, process: Process?, pid: Int32, port: Int) {
        self.name = name
        self.process = process
        self.pid = pid
        self.port = port
    }

    /// A server started elsewhere (for example under valgrind); it is never stopped from here.
    static func attach(name: String, pid: Int32, port: Int) -> ServerProcess {
        ServerProcess(name: name, process: nil, pid: pid, port: port)
    }

    /// Starts `executable` and waits (at most 60 s) for it to print `Listening on HOST:PORT`.
    static func start(
        name: String, executable: String, arguments: [String], environment: [String: String] = [:],
        logDirectory: String
    ) throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe()
        process.standardOutput = stdout
        let logPath = "\(logDirectory)/\(name).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()

        // Read lines until the port appears; afterwards keep draining stdout in the background.
        let found = PortWaiter()
        let reader = stdout.fileHandleForReading
        Thread.detachNewThread {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    if line.hasPrefix("Listening on "), let port = Int(line.split(separator: ":").last ?? "") {
                        found.set(port)
                    }
                }
            }
            found.set(nil)
        }
        guard let port = found.wait(timeout: 60) else {
            process.terminate()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw ConnectionFailed(description: "\(name) did not start listening; its log:\n\(log.suffix(2000))")
        }
        return ServerProcess(name: name, process: process, pid: process.processIdentifier, port: port)
    }

    /// User plus system CPU time the process has used, in seconds.
    func cpuSeconds() -> Double {
        let (user, system) = cpuTimes()
        return user + system
    }

    /// User and system CPU time the process has used, in seconds.
    func cpuTimes() -> (user: Double, system: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return (0, 0) }
        // Fields after the command name; utime and stime are fields 14 and 15 of the whole line.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return (0, 0) }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user / ticks, system / ticks)
    }

    /// Resident memory (VmRSS) in bytes.
    func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    /// The process's open file-descriptor limit.
    func fileLimit() -> Int? {
        guard let limits = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8) else { return nil }
        for line in limits.split(separator: "\n") where line.hasPrefix("Max open files") {
            return line.split(separator: " ").dropFirst(3).first.flatMap { Int($0) }
        }
        return nil
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    func stop(grace: Double = 10) {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A one-shot value handed from the reader thread to the starter.
private final class PortWaiter: @unchecked Sendable {
    private let condition = NSCondition()
    private var done = false
    private var port: Int?

    func set(_ port: Int?) {
        condition.lock()
        defer { condition.unlock() }
        guard !done else { return }
        done = true
        self.port = port
        condition.broadcast()
    }

    func wait(timeout: Double) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while !done && condition.wait(until: deadline) {}
        return port
    }
}

/// This process's CPU time (user + system), in seconds.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Raises this process's open-file limit to its hard limit (children inherit it). Returns it.
@discardableResult
func raiseFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}

/// Runs a command and returns its standard output (standard error is discarded).
func runCommand(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Finds `name` on the PATH.
func which(_ name: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// The 1, 5 and 15-minute load averages: how busy the machine was around the run.
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "")
        .split(separator: " ").prefix(3).joined(separator: " ")
}

/// What the machine is: CPU model, core count, kernel.
func machineDescription() -> Machine {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model =
        cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
        ?? "unknown"
    var name = utsname()
    uname(&name)
    let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
        .flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
    return Machine(
        cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount, kernel: "Linux \(release)",
        memoryGiB: Double(memory) / 1_048_576)
}
