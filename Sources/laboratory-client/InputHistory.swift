import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The lines typed at the prompt, oldest first, for Up and Down: at most ``limit`` of them, with
/// no blank lines, no line repeating the one before it, and nothing that starts with a space (as
/// bash's `ignorespace`: a way to keep one line out of the history and its file).
///
/// Browsing keeps the line being typed: Up from it saves it, and Down past the newest entry
/// brings it back.
struct InputHistory: Equatable, Sendable {
    /// How many lines are kept.
    static let limit = 500

    private(set) var entries: [String]
    /// The entry shown while browsing; `nil` when not browsing.
    private var position: Int?
    /// The line being typed when browsing began.
    private var draft = ""

    init(entries: [String] = []) {
        self.entries = Array(entries.filter { !$0.isEmpty }.suffix(Self.limit))
    }

    /// Whether `line` belongs in the history.
    static func keeps(_ line: String) -> Bool {
        !line.allSatisfy(\.isWhitespace) && !line.hasPrefix(" ")
    }

    /// Records a submitted line and stops browsing.
    mutating func add(_ line: String) {
        reset()
        guard Self.keeps(line), entries.last != line else { return }
        entries.append(line)
        if entries.count > Self.limit { entries.removeFirst(entries.count - Self.limit) }
    }

    /// Stops browsing.
    mutating func reset() {
        position = nil
        draft = ""
    }

    /// The entry before the one shown (or the newest, saving `current` as the draft); `nil` at
    /// the oldest.
    mutating func previous(current: String) -> String? {
        let index = (position ?? entries.count) - 1
        guard index >= 0 else { return nil }
        if position == nil { draft = current }
        position = index
        return entries[index]
    }

    /// The entry after the one shown, or the draft after the newest; `nil` when not browsing.
    mutating func next() -> String? {
        guard let position else { return nil }
        if position + 1 < entries.count {
            self.position = position + 1
            return entries[position + 1]
        }
        self.position = nil
        return draft
    }
}

/// The history file, `history` in the client's folder: one line per entry, mode 0600 (lines
/// typed at the prompt are private), the newest ``InputHistory/limit`` kept.
struct InputHistoryFile: Sendable {
    let path: String

    init(directory: String) { path = directory + "/history" }

    /// The saved entries; none if the file is missing or unreadable.
    func load() -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Replaces the file with `history`'s entries, created with mode 0600 in a folder of mode 0700.
    func save(_ history: InputHistory) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = history.entries.map { $0 + "\n" }.joined()
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CommandFailure("could not write \(temporary)", status: .cannotCreate) }
        guard rename(temporary, path) == 0 else {
            throw CommandFailure("could not replace \(path)", status: .cannotCreate)
        }
    }
}
