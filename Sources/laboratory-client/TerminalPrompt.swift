import Dispatch
import Foundation
import LaboratoryProtocol
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A prompt on a terminal in raw mode, under a status line. It keeps the line being typed in a
/// ``LineEditor``, so a line from the server is printed by erasing the status line, prompt and
/// input, writing the line, and drawing them again: what the user is typing is never mangled.
///
/// Keys are decoded by ``KeyDecoder`` and edited by ``LineEditor`` (readline's keys for one line,
/// and history with Up and Down, saved in ``InputHistoryFile`` if one is given); Enter sends;
/// Ctrl-D on an empty line ends input; Ctrl-C quits.
final class TerminalPrompt: Console {
    /// Only ever touched inside `state`'s lock; the signal sources are what keep it from being
    /// `Sendable` on its own.
    private struct State: @unchecked Sendable {
        var prompt = "> "
        var status = ""
        var editor: LineEditor
        var decoder = KeyDecoder()
        /// The row of the drawn block the cursor is on, counted from the block's top.
        var cursorRow = 0
        /// The width of the status line as drawn (0 if none), for working out its rows after a resize.
        var drawnStatusWidth = 0
        var finished = false
        var signalSources: [any DispatchSourceSignal] = []
    }

    let input: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let palette: Palette
    private let saved: termios
    private let historyFile: InputHistoryFile?
    private let state: NIOLockedValueBox<State>

    /// Switches standard input to raw mode and starts reading keys; history is read from and
    /// saved to `historyFile` if given.
    init(palette: Palette, historyFile: InputHistoryFile? = nil) throws {
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
        self.historyFile = historyFile
        let history = InputHistory(entries: historyFile?.load() ?? [])
        state = NIOLockedValueBox(State(editor: LineEditor(history: history)))
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
            Terminal.put(erasure(state) + output + rendering(&state))
        }
    }

    func setPrompt(_ prompt: String) {
        state.withLockedValue { state in
            guard !state.finished, state.prompt != prompt else { return }
            let erase = erasure(state)
            state.prompt = prompt
            Terminal.put(erase + rendering(&state))
        }
    }

    var showsStatus: Bool { true }

    func setStatus(_ status: String) {
        state.withLockedValue { state in
            guard !state.finished, state.status != status else { return }
            let erase = erasure(state)
            state.status = status
            Terminal.put(erase + rendering(&state))
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
        state.withLockedValue { Terminal.put(rendering(&$0)) }
    }

    /// The status line, the prompt and the input typed so far, with the cursor put where the
    /// editor's cursor is; remembers the cursor's row for the next ``erasure(_:)``.
    private func rendering(_ state: inout State) -> String {
        let columns = Terminal.columns()
        let text = state.editor.text
        let layout = PromptLayout(
            status: !state.status.isEmpty, prompt: TerminalWidth.of(state.prompt), text: TerminalWidth.of(text),
            cursor: TerminalWidth.of(text[..<state.editor.cursor]), columns: columns)
        var output = ""
        if !state.status.isEmpty {
            // Cut to fit one row, so that it never wraps.
            let status = TerminalWidth.prefix(state.status, fitting: max(columns - 1, 1))
            output += palette.paint(status, as: .status) + "\r\n"
            state.drawnStatusWidth = TerminalWidth.of(status)
        } else {
            state.drawnStatusWidth = 0
        }
        output += palette.paint(state.prompt, as: .prompt) + String(text)
        // At the right margin the terminal holds the cursor on the last column: move on to the
        // next row explicitly, so that the cursor is where the layout says.
        if layout.endsAtMargin { output += " \r" }
        if state.editor.cursor < text.count {
            let up = layout.endRow - layout.cursorRow
            if up > 0 { output += "\u{1B}[\(up)A" }
            output += "\r" + (layout.cursorColumn > 0 ? "\u{1B}[\(layout.cursorColumn)C" : "")
        }
        state.cursorRow = layout.cursorRow
        return output
    }

    /// Moves to the start of the drawn block (the status line, or the prompt, which may have
    /// wrapped over several rows) and clears from there to the end of the screen.
    private func erasure(_ state: State) -> String {
        "\r" + (state.cursorRow > 0 ? "\u{1B}[\(state.cursorRow)A" : "") + "\u{1B}[J"
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
        var history: InputHistory?
        state.withLockedValue { state in
            guard !state.finished else {
                ended = true
                return
            }
            let entries = (state.editor.history.entries.count, state.editor.history.entries.last)
            defer {
                // Saved only when a line was added (not for a blank line or a repeat).
                let now = (state.editor.history.entries.count, state.editor.history.entries.last)
                if now != entries { history = state.editor.history }
            }
            for key in state.decoder.feed(byte) {
                let erase = erasure(state)
                switch state.editor.handle(key) {
                case .none:
                    break
                case .redraw:
                    Terminal.put(erase + rendering(&state))
                case .submit(let line):
                    submitted = line
                    // The typed line stays on screen, without the status line, above the new prompt.
                    Terminal.put(erase + palette.paint(state.prompt, as: .prompt) + line + "\r\n" + rendering(&state))
                case .clearScreen:
                    Terminal.put("\u{1B}[H\u{1B}[2J" + rendering(&state))
                case .interrupt:
                    Terminal.put(erase + palette.paint(state.prompt, as: .prompt) + "^C\r\n")
                    state.cursorRow = 0
                    submitted = "/quit"
                case .endOfInput:
                    ended = true
                }
            }
        }
        if let history, let historyFile {
            // Failing to save history is not worth interrupting the session for.
            try? historyFile.save(history)
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
            signal(SIGWINCH, SIG_IGN)
            let resize = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
            resize.setEventHandler { [self] in redrawAfterResize() }
            resize.resume()
            state.signalSources.append(resize)
        }
    }

    /// The terminal changed size: terminals that reflow (tmux, most modern ones) have moved the
    /// block's rows, so the cursor's row in it is worked out again for the new width before the
    /// block is erased and drawn again.
    private func redrawAfterResize() {
        state.withLockedValue { state in
            guard !state.finished else { return }
            let text = state.editor.text
            let columns = Terminal.columns()
            // A status line drawn for a wider terminal may now take more than one row.
            let statusRows = (state.drawnStatusWidth + columns - 1) / columns
            state.cursorRow =
                statusRows
                + PromptLayout(
                    status: false, prompt: TerminalWidth.of(state.prompt), text: TerminalWidth.of(text),
                    cursor: TerminalWidth.of(text[..<state.editor.cursor]), columns: columns
                ).cursorRow
            Terminal.put(erasure(state) + rendering(&state))
        }
    }
}
