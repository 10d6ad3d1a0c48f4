/// One key a user pressed, as the line editor sees it.
enum Key: Equatable, Sendable {
    /// Text to insert (a printable character; a tab arrives as a space).
    case text(Character)
    case enter
    /// Backspace or Ctrl-H: delete the character before the cursor.
    case backspace
    /// Delete or Ctrl-D on a non-empty line: delete the character under the cursor.
    case delete
    case left
    case right
    /// Home or Ctrl-A.
    case home
    /// End or Ctrl-E.
    case end
    /// Up or Ctrl-P: the previous history entry.
    case up
    /// Down or Ctrl-N: the next history entry.
    case down
    /// Alt-B, Ctrl-Left: to the start of the word before the cursor.
    case wordLeft
    /// Alt-F, Ctrl-Right: to the end of the word after the cursor.
    case wordRight
    /// Ctrl-W, Alt-Backspace: delete the word before the cursor.
    case deleteWordBefore
    /// Alt-D: delete the word after the cursor.
    case deleteWordAfter
    /// Ctrl-U: delete from the start of the line to the cursor.
    case deleteToStart
    /// Ctrl-K: delete from the cursor to the end of the line.
    case deleteToEnd
    /// Ctrl-Y: insert the text the last deletion of a word or line part removed.
    case yank
    /// Ctrl-T: swap the two characters around the cursor.
    case transpose
    /// Ctrl-L.
    case clearScreen
    /// Ctrl-C.
    case interrupt
    /// Ctrl-D: end of input on an empty line, delete otherwise.
    case endOfInput
}

/// Turns the bytes a terminal in raw mode sends into ``Key``s: UTF-8 characters, control keys,
/// and the escape sequences of xterm-like terminals (CSI and SS3 arrows, Home, End, Delete,
/// Ctrl-arrows, and Alt as an escape prefix). Unknown sequences are swallowed whole, so an
/// unsupported key never inserts stray characters. A pure value: feed it bytes, get keys.
struct KeyDecoder: Sendable {
    private enum State: Sendable {
        case ground
        /// After ESC.
        case escape
        /// Inside `ESC [` or `ESC O`, with the parameter bytes so far.
        case sequence(introducer: UInt8, parameters: [UInt8])
        /// Inside a sequence too long to be one the editor knows: dropped up to its final byte.
        case overlong
        /// Inside a multi-byte UTF-8 character: the bytes so far and how many it needs.
        case utf8(bytes: [UInt8], needed: Int)
    }

    private var state = State.ground

    /// The keys `byte` completes (usually none or one).
    mutating func feed(_ byte: UInt8) -> [Key] {
        switch state {
        case .ground:
            return ground(byte)
        case .escape:
            state = .ground
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "O"):
                state = .sequence(introducer: byte, parameters: [])
                return []
            case UInt8(ascii: "b"): return [.wordLeft]
            case UInt8(ascii: "f"): return [.wordRight]
            case UInt8(ascii: "d"): return [.deleteWordAfter]
            case 0x7F, 0x08: return [.deleteWordBefore]
            case 0x1B:
                state = .escape
                return []
            default: return []
            }
        case .sequence(let introducer, var parameters):
            guard (0x40...0x7E).contains(byte) else {
                // Parameter and intermediate bytes; a long sequence is dropped to its end.
                if parameters.count < 16 {
                    parameters.append(byte)
                    state = .sequence(introducer: introducer, parameters: parameters)
                } else {
                    state = .overlong
                }
                return []
            }
            state = .ground
            return Self.sequence(final: byte, parameters: parameters).map { [$0] } ?? []
        case .overlong:
            if (0x40...0x7E).contains(byte) { state = .ground }
            return []
        case .utf8(var bytes, let needed):
            guard byte & 0xC0 == 0x80 else {
                // A broken character: drop it and read this byte afresh.
                state = .ground
                return ground(byte)
            }
            bytes.append(byte)
            guard bytes.count == needed else {
                state = .utf8(bytes: bytes, needed: needed)
                return []
            }
            state = .ground
            let text = String(decoding: bytes, as: UTF8.self)
            return text.unicodeScalars.contains("\u{FFFD}") ? [] : text.map { .text($0) }
        }
    }

    private mutating func ground(_ byte: UInt8) -> [Key] {
        switch byte {
        case 0x0D, 0x0A: return [.enter]
        case 0x7F, 0x08: return [.backspace]
        case 0x01: return [.home]
        case 0x02: return [.left]
        case 0x03: return [.interrupt]
        case 0x04: return [.endOfInput]
        case 0x05: return [.end]
        case 0x06: return [.right]
        case 0x09: return [.text(" ")]
        case 0x0B: return [.deleteToEnd]
        case 0x0C: return [.clearScreen]
        case 0x0E: return [.down]
        case 0x10: return [.up]
        case 0x14: return [.transpose]
        case 0x15: return [.deleteToStart]
        case 0x17: return [.deleteWordBefore]
        case 0x19: return [.yank]
        case 0x1B:
            state = .escape
            return []
        case 0x00..<0x20: return []
        case 0x20..<0x80: return [.text(Character(Unicode.Scalar(byte)))]
        case 0xC2...0xDF:
            state = .utf8(bytes: [byte], needed: 2)
            return []
        case 0xE0...0xEF:
            state = .utf8(bytes: [byte], needed: 3)
            return []
        case 0xF0...0xF4:
            state = .utf8(bytes: [byte], needed: 4)
            return []
        default: return []
        }
    }

    /// The key a complete `ESC [` or `ESC O` sequence stands for, if one the editor knows.
    private static func sequence(final: UInt8, parameters: [UInt8]) -> Key? {
        let text = String(decoding: parameters, as: UTF8.self)
        // Ctrl (5) or Alt (3) with an arrow: `ESC [ 1 ; 5 C`.
        let modified = text.hasSuffix(";5") || text.hasSuffix(";3")
        switch final {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return modified ? .wordRight : .right
        case UInt8(ascii: "D"): return modified ? .wordLeft : .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch text {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            default: return nil
            }
        default: return nil
        }
    }
}
