import Foundation
import Testing

@testable import laboratory_client

/// The line editor as a state machine: keys in, line, cursor and actions out.
@Suite("line editor")
struct LineEditorTests {
    /// An editor after typing `text`.
    private func editor(typing text: String, history: [String] = []) -> LineEditor {
        var editor = LineEditor(history: InputHistory(entries: history))
        for character in text { _ = editor.handle(.text(character)) }
        return editor
    }

    @Test("typing inserts at the cursor; Left, Right, Home and End move it, and stop at the ends")
    func motion() {
        var editor = editor(typing: "helo")
        #expect(editor.cursor == 4)
        #expect(editor.handle(.left) == .redraw)
        #expect(editor.handle(.text("l")) == .redraw)
        #expect(editor.line == "hello" && editor.cursor == 4)
        #expect(editor.handle(.home) == .redraw && editor.cursor == 0)
        #expect(editor.handle(.left) == .none && editor.cursor == 0)
        #expect(editor.handle(.home) == .none)
        #expect(editor.handle(.text(">")) == .redraw)
        #expect(editor.line == ">hello" && editor.cursor == 1)
        #expect(editor.handle(.end) == .redraw && editor.cursor == 6)
        #expect(editor.handle(.right) == .none && editor.handle(.end) == .none)
    }

    @Test("Backspace deletes before the cursor, Delete under it; both do nothing at their end")
    func deletion() {
        var editor = editor(typing: "abcd")
        #expect(editor.handle(.delete) == .none)
        #expect(editor.handle(.backspace) == .redraw && editor.line == "abc")
        _ = editor.handle(.home)
        #expect(editor.handle(.backspace) == .none)
        #expect(editor.handle(.delete) == .redraw && editor.line == "bc" && editor.cursor == 0)
        // Ctrl-D deletes on a non-empty line, and ends input only on an empty one.
        #expect(editor.handle(.endOfInput) == .redraw && editor.line == "c")
        #expect(editor.handle(.endOfInput) == .redraw && editor.line.isEmpty)
        #expect(editor.handle(.endOfInput) == .endOfInput)
    }

    @Test("word motion and deletion skip spaces, then a word; Ctrl-Y puts back the last deletion")
    func words() {
        var editor = editor(typing: "say  hello world")
        #expect(editor.handle(.wordLeft) == .redraw && editor.cursor == 11)
        #expect(editor.handle(.wordLeft) == .redraw && editor.cursor == 5)
        #expect(editor.handle(.wordLeft) == .redraw && editor.cursor == 0)
        #expect(editor.handle(.wordLeft) == .none)
        #expect(editor.handle(.wordRight) == .redraw && editor.cursor == 3)
        #expect(editor.handle(.wordRight) == .redraw && editor.cursor == 10)
        #expect(editor.handle(.deleteWordAfter) == .redraw && editor.line == "say  hello" && editor.cursor == 10)
        #expect(editor.handle(.deleteWordBefore) == .redraw && editor.line == "say  " && editor.cursor == 5)
        #expect(editor.handle(.deleteWordBefore) == .redraw && editor.line.isEmpty && editor.cursor == 0)
        #expect(editor.handle(.yank) == .redraw && editor.line == "say  " && editor.cursor == 5)
    }

    @Test("Ctrl-U deletes to the start, Ctrl-K to the end, from the middle of the line")
    func lineParts() {
        var editor = editor(typing: "one two three")
        for _ in 0..<6 { _ = editor.handle(.left) }
        #expect(editor.handle(.deleteToEnd) == .redraw && editor.line == "one two" && editor.cursor == 7)
        #expect(editor.handle(.deleteToEnd) == .none)
        _ = editor.handle(.wordLeft)
        #expect(editor.handle(.deleteToStart) == .redraw && editor.line == "two" && editor.cursor == 0)
        #expect(editor.handle(.deleteToStart) == .none)
        _ = editor.handle(.end)
        #expect(editor.handle(.yank) == .redraw && editor.line == "twoone ")
    }

    @Test("Ctrl-T swaps the characters around the cursor, or the last two at the end")
    func transpose() {
        var editor = editor(typing: "ab")
        #expect(editor.handle(.transpose) == .redraw && editor.line == "ba" && editor.cursor == 2)
        var middle = self.editor(typing: "abc")
        _ = middle.handle(.left)
        _ = middle.handle(.left)
        #expect(middle.handle(.transpose) == .redraw && middle.line == "bac" && middle.cursor == 2)
        var short = self.editor(typing: "a")
        #expect(short.handle(.transpose) == .none)
    }

    @Test("Enter submits the line, empties it and records it; Ctrl-C and Ctrl-L are passed on")
    func submit() {
        var editor = editor(typing: "/join lobby")
        _ = editor.handle(.home)
        #expect(editor.handle(.enter) == .submit("/join lobby"))
        #expect(editor.line.isEmpty && editor.cursor == 0)
        #expect(editor.history.entries == ["/join lobby"])
        #expect(editor.handle(.clearScreen) == .clearScreen)
        _ = editor.handle(.text("x"))
        #expect(editor.handle(.interrupt) == .interrupt && editor.line.isEmpty)
    }

    @Test("Up and Down browse the history and come back to the line being typed")
    func history() {
        var editor = editor(typing: "dr", history: ["first", "second"])
        #expect(editor.handle(.up) == .redraw && editor.line == "second" && editor.cursor == 6)
        #expect(editor.handle(.up) == .redraw && editor.line == "first")
        #expect(editor.handle(.up) == .none && editor.line == "first")
        #expect(editor.handle(.down) == .redraw && editor.line == "second")
        #expect(editor.handle(.down) == .redraw && editor.line == "dr")
        #expect(editor.handle(.down) == .none)
        // A recalled line edited and sent is a new entry; browsing starts again from the newest.
        _ = editor.handle(.up)
        _ = editor.handle(.text("!"))
        #expect(editor.handle(.enter) == .submit("second!"))
        #expect(editor.history.entries == ["first", "second", "second!"])
        #expect(editor.handle(.up) == .redraw && editor.line == "second!")
    }
}

@Suite("input history")
struct InputHistoryTests {
    @Test("blank lines, repeats and lines starting with a space are not kept; the oldest go past the limit")
    func keeping() {
        var history = InputHistory()
        for line in ["a", "a", "", "   ", " secret", "b"] { history.add(line) }
        #expect(history.entries == ["a", "b"])
        for number in 0..<(InputHistory.limit + 10) { history.add("line \(number)") }
        #expect(history.entries.count == InputHistory.limit)
        #expect(history.entries.first == "line 10")
        #expect(history.entries.last == "line \(InputHistory.limit + 9)")
    }

    @Test("the history file is written with mode 0600 and read back")
    func file() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = InputHistoryFile(directory: directory + "/laboratory")
        #expect(file.load().isEmpty)
        var history = InputHistory()
        history.add("/join lobby")
        history.add("hello there")
        try file.save(history)
        try file.save(history)
        #expect(file.load() == ["/join lobby", "hello there"])
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}

@Suite("prompt layout")
struct PromptLayoutTests {
    /// A layout's rows and columns, to compare with expected values.
    struct Shape: Equatable {
        var cursorRow, cursorColumn, endRow: Int
        var endsAtMargin: Bool

        init(_ cursorRow: Int, _ cursorColumn: Int, _ endRow: Int, _ endsAtMargin: Bool) {
            (self.cursorRow, self.cursorColumn, self.endRow, self.endsAtMargin) =
                (cursorRow, cursorColumn, endRow, endsAtMargin)
        }

        init(_ layout: PromptLayout) {
            self.init(layout.cursorRow, layout.cursorColumn, layout.endRow, layout.endsAtMargin)
        }
    }

    @Test("the cursor's row and column, with and without a status line, across wraps and at the margin")
    func layout() {
        // "> " + 5 characters on 80 columns, cursor after 3.
        #expect(
            Shape(PromptLayout(status: false, prompt: 2, text: 5, cursor: 3, columns: 80))
                == Shape(0, 5, 0, false))
        #expect(
            Shape(PromptLayout(status: true, prompt: 2, text: 5, cursor: 5, columns: 80))
                == Shape(1, 7, 1, false))
        // 10 columns: 2 + 15 = 17 characters end on the second row; the cursor after 9 is on it too.
        #expect(
            Shape(PromptLayout(status: true, prompt: 2, text: 15, cursor: 9, columns: 10))
                == Shape(2, 1, 2, false))
        // Exactly 20 characters on 10 columns: the drawing moves to a third row.
        #expect(
            Shape(PromptLayout(status: false, prompt: 2, text: 18, cursor: 18, columns: 10))
                == Shape(2, 0, 2, true))
    }
}

@Suite("terminal width")
struct TerminalWidthTests {
    @Test("wide and fullwidth characters and emoji take two columns; combining marks ride along")
    func widths() {
        #expect(TerminalWidth.of("a") == 1)
        #expect(TerminalWidth.of("é") == 1)
        #expect(TerminalWidth.of("e\u{301}") == 1)
        #expect(TerminalWidth.of("漢") == 2)
        #expect(TerminalWidth.of("한") == 2)
        #expect(TerminalWidth.of("Ａ") == 2)
        #expect(TerminalWidth.of("👋") == 2)
        #expect(TerminalWidth.of("❤\u{FE0F}") == 2)
        #expect(TerminalWidth.of("·") == 1)
        #expect(TerminalWidth.of(Array("ada 漢字 👋")) == 11)
        #expect(TerminalWidth.prefix("漢字abc", fitting: 5) == "漢字a")
        #expect(TerminalWidth.prefix("漢字abc", fitting: 3) == "漢")
    }
}
