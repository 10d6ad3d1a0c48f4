import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A server under test, as a child process: started, read back for its port, watched through
/// `/proc` for CPU time and resident memory, and stopped.
final class ServerProcess: Sendable {
    let name: String
    /// nil for a server this generator did not start (`--attach-laboratory`).
    let process: Child?
    let pid: Int32
    let port: Int

    private init(name: String, process: Child?, pid: Int32, port: Int) {
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
        let logPath = "\(logDirectory)/\(name).log"
        let process = try Child.spawn(
            executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            captureOutput: true, stderrPath: logPath)
        let output = process.stdout!

        // Read lines until the port appears; afterwards keep draining stdout in the background.
        let found = PortWaiter()
        Thread.detachNewThread {
            var pending = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                pending.append(contentsOf: buffer[0..<count])
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
            process.signal(SIGKILL)
            process.wait()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw ConnectionFailed(description: "\(name) did not start listening; its log:\n\(log.suffix(2000))")
        }
        return ServerProcess(name: name, process: process, pid: process.pid, port: port)
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
        process.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.signal(SIGKILL)
            process.wait()
        }
    }
}

/// A one-shot value handed from the reader thread to the starter.
private final class PortWaiter: @unchecked Sendable {
    // Safety: `done` and `port` are only touched with `condition` locked.
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
    let memory =
        (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
        .flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
    return Machine(
        cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount, kernel: "Linux \(release)",
        memoryGiB: Double(memory) / 1_048_576)
}
