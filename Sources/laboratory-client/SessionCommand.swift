/// One line typed at the prompt: a slash command, or text to say (`//` at the start sends a
/// literal `/`).
enum SessionCommand: Equatable, Sendable {
    case say(String)
    case join(room: String)
    case leave(room: String?)
    /// One page of rooms: the first, or those after the room name given.
    case rooms(after: String?)
    case who(room: String?)
    case direct(to: UInt64, text: String)
    /// A new display name; `save` (`/rename --save NAME`) also makes it the name the next
    /// `laboratory connect` uses.
    case rename(String, save: Bool)
    case rekey
    case serverName
    case ping
    case help
    case quit
    /// A line that is not a valid command; the associated text says why.
    case invalid(String)

    /// What `/help` prints.
    static let helpText = """
        Type a line to say it in your current room (the last one you joined), or to the echo service \
        when you are in none. Commands:
          /join ROOM          join a room (it becomes your current room)
          /leave [ROOM]       leave a room (default: the current one)
          /rooms [AFTER]      list rooms and their member counts, a page at a time
          /who [ROOM]         list a room's members (default: the current one)
          /msg ID TEXT        send a direct message to connection ID
          /rename NAME        change your display name for this session
          /rename --save NAME change it and use it for the next connect too
          /rekey              renew the session keys
          /server-name        ask the server its name
          /ping               measure a round trip (the status line shows the latest)
          /help               show this help
          /quit               leave (Ctrl-D on an empty line does too; /exit is the same)
        On a terminal: Left/Right, Home/End (Ctrl-A/Ctrl-E), Alt-B/Alt-F move; Backspace/Delete, \
        Ctrl-W/Alt-D (word), Ctrl-U/Ctrl-K (to start/end) delete, Ctrl-Y puts it back; Up/Down \
        (Ctrl-P/Ctrl-N) recall earlier lines (a line starting with a space is not remembered); \
        Ctrl-L redraws; Ctrl-C quits. Start a line with // to say something that starts with /.
        """

    /// Parses a line; `nil` for a blank one.
    init?(parsing line: String) {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard !trimmed.allSatisfy(\.isWhitespace) else { return nil }
        if trimmed.hasPrefix("//") {
            self = .say(String(trimmed.dropFirst()))
            return
        }
        guard trimmed.hasPrefix("/") else {
            self = .say(line)
            return
        }
        let words = trimmed.dropFirst().split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let word = words.first.map(String.init) ?? ""
        let rest = words.count > 1 ? String(words[1]).trimmingSpaces : ""
        let argument: String? = rest.isEmpty ? nil : rest
        switch (word, argument) {
        case ("join", let room?): self = .join(room: room)
        case ("join", nil): self = .invalid("usage: /join ROOM")
        case ("leave", _): self = .leave(room: argument)
        case ("rooms", _): self = .rooms(after: argument)
        case ("who", _): self = .who(room: argument)
        case ("msg", let rest?):
            let parts = rest.split(separator: " ", maxSplits: 1)
            let id = parts.first.flatMap { UInt64($0.hasPrefix("#") ? $0.dropFirst() : $0) }
            if let id, parts.count == 2 {
                self = .direct(to: id, text: String(parts[1]))
            } else {
                self = .invalid("usage: /msg ID TEXT (ID is a connection number, as /who shows it)")
            }
        case ("msg", nil): self = .invalid("usage: /msg ID TEXT")
        case ("rename", let name?):
            if name == "--save" {
                self = .invalid("usage: /rename --save NAME")
            } else if name.hasPrefix("--save ") {
                self = .rename(String(name.dropFirst("--save ".count)).trimmingSpaces, save: true)
            } else {
                self = .rename(name, save: false)
            }
        case ("rename", nil): self = .invalid("usage: /rename [--save] NAME")
        case ("rekey", _): self = .rekey
        case ("server-name", _): self = .serverName
        case ("ping", _): self = .ping
        case ("help", _): self = .help
        case ("quit", _), ("exit", _): self = .quit
        default: self = .invalid("unknown command /\(word); /help lists the commands")
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        var result = Substring(self)
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return String(result)
    }
}
