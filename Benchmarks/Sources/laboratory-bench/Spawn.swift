import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn and a clean signal state.
///
/// Foundation's `Process` hands the child the signal mask of whichever thread starts it; the
/// concurrency runtime's threads block most signals, so a child started from a task would never
/// see SIGALRM (`openssl speed -seconds N` then never stops) or SIGTERM (no graceful shutdown).
/// Here the child starts with an empty mask and default dispositions, as from a shell.
struct Child {
    let pid: pid_t
    /// The read end of the child's standard output, if it was captured.
    let stdout: Int32?

    /// Starts `executable` with `arguments`; standard output goes to a pipe (`captureOutput`) or
    /// to `/dev/null`, standard error to `stderrPath` (or `/dev/null`). With `outputPath`, both go
    /// to that file (emptied first) and standard input comes from `/dev/null`: never a pipe, which
    /// a daemon the child starts (`pg_ctl start`) would hold open.
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        captureOutput: Bool, stderrPath: String? = nil, outputPath: String? = nil
    ) throws -> Child {
        var fds: [Int32] = [-1, -1]
        if captureOutput { guard pipe(&fds) == 0 else { throw SpawnError("pipe failed") } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let outputPath {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else if captureOutput {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            posix_spawn_file_actions_addclose(&actions, fds[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if outputPath == nil {
            posix_spawn_file_actions_addopen(
                &actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        if captureOutput { close(fds[1]) }
        guard status == 0 else {
            if captureOutput { close(fds[0]) }
            throw SpawnError("could not start \(executable): \(String(cString: strerror(status)))")
        }
        return Child(pid: pid, stdout: captureOutput ? fds[0] : nil)
    }

    /// Whether the child is still running (reaps it if it has exited).
    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the child to exit and returns its wait status.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }
}

struct SpawnError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command and returns its standard output (standard error is discarded).
func runCommand(_ executable: String, _ arguments: [String]) throws -> String {
    let child = try Child.spawn(executable, arguments, captureOutput: true)
    var output = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(child.stdout!, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        output.append(contentsOf: chunk[0..<count])
    }
    close(child.stdout!)
    child.wait()
    return String(decoding: output, as: UTF8.self)
}
