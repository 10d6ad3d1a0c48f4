/// The line being typed at the prompt, as a pure state machine: ``handle(_:)`` takes a ``Key``
/// and returns what the terminal should do; ``rendering(prompt:columns:)`` says what to draw.
/// It knows nothing of file descriptors, so every key can be tested with plain values.
///
/// The keys are those a readline user expects for one line: arrows, Home/End (Ctrl-A/Ctrl-E),
/// Backspace/Delete, word motion and deletion (Alt-B/Alt-F, Ctrl-W/Alt-D), Ctrl-U/Ctrl-K, Ctrl-Y
/// to yank what they deleted, Ctrl-T, and history with Up/Down (Ctrl-P/Ctrl-N).
struct LineEditor: Sendable {
    /// What the terminal does after a key.
    enum Action: Equatable, Sendable {
        /// Nothing changed (a key with nothing to act on).
        case none
        /// The line or the cursor changed: draw again.
        case redraw
        /// Enter: the line is done (added to history unless blank); draw an empty line after it.
        case submit(String)
        /// Ctrl-L: clear the screen, then draw.
        case clearScreen
        /// Ctrl-C: quit.
        case interrupt
        /// Ctrl-D on an empty line: input ended.
        case endOfInput
    }

    /// The characters typed so far.
    private(set) var text: [Character] = []
    /// Where the cursor is: an index into ``text`` (`text.count` is the end).
    private(set) var cursor = 0
    /// Earlier lines, oldest first.
    private(set) var history: InputHistory
    /// The last text a word or line-part deletion removed, for Ctrl-Y.
    private var killed: [Character] = []

    init(history: InputHistory = InputHistory()) {
        self.history = history
    }

    /// The line as a string.
    var line: String { String(text) }

    mutating func handle(_ key: Key) -> Action {
        switch key {
        case .text(let character):
            text.insert(character, at: cursor)
            cursor += 1
        case .enter:
            let submitted = line
            history.add(submitted)
            text = []
            cursor = 0
            return .submit(submitted)
        case .backspace:
            guard cursor > 0 else { return .none }
            cursor -= 1
            text.remove(at: cursor)
        case .delete:
            guard cursor < text.count else { return .none }
            text.remove(at: cursor)
        case .endOfInput:
            if text.isEmpty { return .endOfInput }
            return handle(.delete)
        case .left:
            guard cursor > 0 else { return .none }
            cursor -= 1
        case .right:
            guard cursor < text.count else { return .none }
            cursor += 1
        case .home:
            guard cursor > 0 else { return .none }
            cursor = 0
        case .end:
            guard cursor < text.count else { return .none }
            cursor = text.count
        case .wordLeft:
            guard cursor > 0 else { return .none }
            cursor = wordStart(before: cursor)
        case .wordRight:
            guard cursor < text.count else { return .none }
            cursor = wordEnd(after: cursor)
        case .deleteWordBefore:
            guard cursor > 0 else { return .none }
            let start = wordStart(before: cursor)
            kill(start..<cursor)
            cursor = start
        case .deleteWordAfter:
            guard cursor < text.count else { return .none }
            kill(cursor..<wordEnd(after: cursor))
        case .deleteToStart:
            guard cursor > 0 else { return .none }
            kill(0..<cursor)
            cursor = 0
        case .deleteToEnd:
            guard cursor < text.count else { return .none }
            kill(cursor..<text.count)
        case .yank:
            guard !killed.isEmpty else { return .none }
            text.insert(contentsOf: killed, at: cursor)
            cursor += killed.count
        case .transpose:
            // Like readline: at the end of the line, swap the last two characters.
            guard text.count >= 2, cursor > 0 else { return .none }
            let right = min(cursor, text.count - 1)
            text.swapAt(right - 1, right)
            cursor = right + 1
        case .up:
            guard let entry = history.previous(current: line) else { return .none }
            replace(with: entry)
        case .down:
            guard let entry = history.next() else { return .none }
            replace(with: entry)
        case .clearScreen:
            return .clearScreen
        case .interrupt:
            text = []
            cursor = 0
            history.reset()
            return .interrupt
        }
        return .redraw
    }

    private mutating func replace(with entry: String) {
        text = Array(entry)
        cursor = text.count
    }

    private mutating func kill(_ range: Range<Int>) {
        killed = Array(text[range])
        text.removeSubrange(range)
    }

    /// The start of the word before `index`: spaces first, then the word.
    private func wordStart(before index: Int) -> Int {
        var start = index
        while start > 0, text[start - 1] == " " { start -= 1 }
        while start > 0, text[start - 1] != " " { start -= 1 }
        return start
    }

    /// The end of the word after `index`: spaces first, then the word.
    private func wordEnd(after index: Int) -> Int {
        var end = index
        while end < text.count, text[end] == " " { end += 1 }
        while end < text.count, text[end] != " " { end += 1 }
        return end
    }
}

/// Where the prompt block's pieces land on a terminal `columns` wide: the block is an optional
/// status line, then the prompt and the text, which may wrap over several rows. The terminal
/// prompt uses it to draw the block and, later, to get back to its start to erase it.
struct PromptLayout: Equatable, Sendable {
    /// Rows from the top of the block to the row the cursor is on.
    var cursorRow: Int
    /// The cursor's column.
    var cursorColumn: Int
    /// Rows from the top of the block to the row the drawing ends on.
    var endRow: Int
    /// Whether the text ends exactly at the right margin (the terminal then holds the cursor on
    /// the last column until the next character; the drawing moves it on explicitly).
    var endsAtMargin: Bool

    /// Lays out a prompt `prompt` columns wide and a text `text` columns wide, with the cursor
    /// `cursor` columns into the text, below a status line if there is one (it is cut to fit one
    /// row). Widths as ``TerminalWidth`` counts them.
    init(status: Bool, prompt: Int, text: Int, cursor: Int, columns: Int) {
        let columns = max(columns, 1)
        let top = status ? 1 : 0
        let end = prompt + text
        endsAtMargin = end > 0 && end % columns == 0
        endRow = top + end / columns
        cursorRow = top + (prompt + cursor) / columns
        cursorColumn = (prompt + cursor) % columns
    }
}
