#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small helpers over the terminal on standard input and output (termios and friends).
enum Terminal {
    /// Whether `descriptor` is a terminal.
    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) != 0 }

    /// The terminal's width in columns; 80 when it cannot be asked.
    static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Writes all of `bytes` to `descriptor`, retrying short writes.
    static func put(_ bytes: [UInt8], to descriptor: Int32 = STDOUT_FILENO) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// Writes `text` to `descriptor`.
    static func put(_ text: String, to descriptor: Int32 = STDOUT_FILENO) {
        put(Array(text.utf8), to: descriptor)
    }

    /// Reads one line from standard input byte by byte (no stdio buffering, so nothing typed
    /// ahead is lost to a later raw-mode reader). `nil` at end of input.
    static func readLine() -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(STDIN_FILENO, &byte, 1)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    /// Asks on standard error and reads a line from the terminal with echo off. Signals are off
    /// too so that Ctrl-C cannot leave the terminal without echo; it cancels instead (`nil`).
    static func readSecret(prompt: String) -> String? {
        put(prompt, to: STDERR_FILENO)
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return readLine() }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO | ISIG)
        quiet.c_lflag |= tcflag_t(ICANON)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            put("\n", to: STDERR_FILENO)
        }
        guard let line = readLine(), !line.contains("\u{03}") else { return nil }
        return line
    }

    /// Asks `question` on standard error until the answer read from standard input is yes or no;
    /// end of input means no.
    @Sendable static func askYesOrNo(_ question: String) -> Bool {
        put(question, to: STDERR_FILENO)
        while let answer = readLine()?.lowercased() {
            if answer == "yes" || answer == "y" { return true }
            if answer == "no" || answer == "n" { return false }
            put("Please type yes or no: ", to: STDERR_FILENO)
        }
        return false
    }
}
