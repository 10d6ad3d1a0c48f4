import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a session's lines go and its input comes from: ``TerminalPrompt`` on a terminal,
/// ``LineConsole`` for pipes and files.
protocol Console: Sendable {
    /// The lines the user typed or piped in; finishes at end of input.
    var input: AsyncStream<String> { get }
    /// Shows one or more lines (split at newlines) in `style`.
    func show(_ text: String, as style: Palette.Style)
    /// Changes the prompt shown before the user's input, if there is one.
    func setPrompt(_ prompt: String)
    /// Changes the status line (room, members, latency), if there is one.
    func setStatus(_ status: String)
    /// Whether a status line is shown: only then is the latency measured in the background.
    var showsStatus: Bool { get }
    /// Gives the terminal back as it was.
    func finish()
}

/// A console for pipes: plain lines out (errors to standard error) and lines in from standard
/// input, read on a thread of its own.
final class LineConsole: Console {
    let input: AsyncStream<String>
    private let palette: Palette

    init(palette: Palette) {
        self.palette = palette
        let (stream, continuation) = AsyncStream<String>.makeStream()
        input = stream
        let reader = Thread {
            while let line = Terminal.readLine() { continuation.yield(line) }
            continuation.finish()
        }
        reader.start()
    }

    func show(_ text: String, as style: Palette.Style) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let output = lines.map { palette.paint(EventText.clean(String($0)), as: style) + "\n" }.joined()
        Terminal.put(output, to: style == .error ? STDERR_FILENO : STDOUT_FILENO)
    }

    func setPrompt(_ prompt: String) {}

    func setStatus(_ status: String) {}

    var showsStatus: Bool { false }

    func finish() {}
}
