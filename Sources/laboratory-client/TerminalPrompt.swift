import Dispatch
import Foundation
import LaboratoryProtocol
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A prompt on a terminal in raw mode. It keeps the line being typed in its own buffer, so a
/// line from the server is printed by erasing the prompt and input, writing the line, and drawing
/// the prompt and input again: what the user is typing is never mangled.
///
/// Editing keys: Backspace, Ctrl-U (clear), Ctrl-W (delete word), Ctrl-L (redraw); Enter sends;
/// Ctrl-D on an empty line ends input; Ctrl-C quits. Arrow and other escape sequences are ignored.
final class TerminalPrompt: Console {
    /// Only ever touched inside `state`'s lock; the signal sources are what keep it from being
    /// `Sendable` on its own.
    private struct State: @unchecked Sendable {
        var prompt = "> "
        var buffer: [UInt8] = []
        var escape = Escape.none
        var finished = false
        var signalSources: [any DispatchSourceSignal] = []
    }

    /// Where the reader is inside an escape sequence.
    private enum Escape {
        case none
        case started
        case sequence
    }

    let input: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let palette: Palette
    private let saved: termios
    private let state = NIOLockedValueBox(State())

    /// Switches standard input to raw mode and starts reading keys.
    init(palette: Palette) throws {
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else {
            throw CommandFailure("could not read the terminal's settings", status: .ioError)
        }
        saved = original
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0 else {
            throw CommandFailure("could not put the terminal in raw mode", status: .ioError)
        }
        self.palette = palette
        (input, continuation) = AsyncStream<String>.makeStream()
        watchSignals()
        draw()
        let reader = Thread { [self] in readKeys() }
        reader.start()
    }

    func show(_ text: String, as style: Palette.Style) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let output = lines.map { palette.paint(EventText.clean(String($0)), as: style) + "\r\n" }.joined()
        state.withLockedValue { state in
            if state.finished {
                Terminal.put(output)
                return
            }
            Terminal.put(erasure(state) + output + rendering(state))
        }
    }

    func setPrompt(_ prompt: String) {
        state.withLockedValue { state in
            guard !state.finished, state.prompt != prompt else { return }
            let erase = erasure(state)
            state.prompt = prompt
            Terminal.put(erase + rendering(state))
        }
    }

    func finish() {
        state.withLockedValue { state in
            guard !state.finished else { return }
            state.finished = true
            Terminal.put(erasure(state))
            var original = saved
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
        }
        continuation.finish()
    }

    // MARK: Drawing

    private func draw() {
        state.withLockedValue { Terminal.put(rendering($0)) }
    }

    /// The prompt and the input typed so far.
    private func rendering(_ state: State) -> String {
        palette.paint(state.prompt, as: .prompt) + String(decoding: state.buffer, as: UTF8.self)
    }

    /// Moves to the start of the prompt (which may have wrapped over several rows) and clears
    /// from there to the end of the screen.
    private func erasure(_ state: State) -> String {
        let width = state.prompt.count + String(decoding: state.buffer, as: UTF8.self).count
        let rowsAbove = width > 0 ? (width - 1) / Terminal.columns() : 0
        return "\r" + (rowsAbove > 0 ? "\u{1B}[\(rowsAbove)A" : "") + "\u{1B}[J"
    }

    // MARK: Keys

    private func readKeys() {
        var bytes = [UInt8](repeating: 0, count: 256)
        while true {
            let count = read(STDIN_FILENO, &bytes, bytes.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            for byte in bytes[..<count] {
                if !receive(byte) { return }
            }
        }
        continuation.finish()
    }

    /// Handles one key byte; `false` once input has ended.
    private func receive(_ byte: UInt8) -> Bool {
        var submitted: String?
        var ended = false
        state.withLockedValue { state in
            guard !state.finished else {
                ended = true
                return
            }
            switch state.escape {
            case .started:
                state.escape = byte == UInt8(ascii: "[") || byte == UInt8(ascii: "O") ? .sequence : .none
                return
            case .sequence:
                if (0x40...0x7E).contains(byte) { state.escape = .none }
                return
            case .none:
                break
            }
            switch byte {
            case 0x0D, 0x0A:  // Enter
                submitted = String(decoding: state.buffer, as: UTF8.self)
                state.buffer = []
                Terminal.put("\r\n" + rendering(state))
            case 0x7F, 0x08:  // Backspace
                guard !state.buffer.isEmpty else { return }
                let erase = erasure(state)
                while let last = state.buffer.popLast(), last & 0xC0 == 0x80 {}
                Terminal.put(erase + rendering(state))
            case 0x15:  // Ctrl-U
                let erase = erasure(state)
                state.buffer = []
                Terminal.put(erase + rendering(state))
            case 0x17:  // Ctrl-W
                let erase = erasure(state)
                while state.buffer.last == UInt8(ascii: " ") { state.buffer.removeLast() }
                while let last = state.buffer.last, last != UInt8(ascii: " ") { state.buffer.removeLast() }
                Terminal.put(erase + rendering(state))
            case 0x0C:  // Ctrl-L
                Terminal.put("\u{1B}[H\u{1B}[2J" + rendering(state))
            case 0x03:  // Ctrl-C
                Terminal.put("^C\r\n")
                state.buffer = []
                submitted = "/quit"
            case 0x04:  // Ctrl-D
                if state.buffer.isEmpty { ended = true }
            case 0x1B:
                state.escape = .started
            case 0x09:
                state.buffer.append(UInt8(ascii: " "))
                Terminal.put(" ")
            case 0x00..<0x20:
                break
            default:
                state.buffer.append(byte)
                Terminal.put([byte])
            }
        }
        if let submitted { continuation.yield(submitted) }
        if ended { continuation.finish() }
        return !ended
    }

    /// On SIGTERM or SIGHUP, gives the terminal back before exiting.
    private func watchSignals() {
        state.withLockedValue { state in
            for number in [SIGTERM, SIGHUP] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [self] in
                    finish()
                    exit(128 + number)
                }
                source.resume()
                state.signalSources.append(source)
            }
        }
    }
}
