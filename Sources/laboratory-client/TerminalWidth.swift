/// How many columns text takes on a terminal, as `wcwidth` counts them but without depending on
/// the process's locale: East Asian wide and fullwidth characters and emoji shown as emoji take two
/// columns, everything else one (combining marks ride on the character before them, since Swift's
/// `Character` is a whole grapheme cluster). An approximation: terminals disagree at the edges.
enum TerminalWidth {
    /// The columns `character` takes: 2 or 1 (0 for a control character, which the prompt never shows).
    static func of(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if first.value < 0x20 || (0x7F..<0xA0).contains(first.value) { return 0 }
        if isWide(first) { return 2 }
        // An emoji presentation selector (U+FE0F) makes a text-style symbol two columns wide.
        if character.unicodeScalars.contains(where: { $0.value == 0xFE0F }),
            first.properties.isEmoji
        {
            return 2
        }
        return 1
    }

    /// The columns `text` takes.
    static func of<S: Sequence<Character>>(_ text: S) -> Int {
        text.reduce(0) { $0 + of($1) }
    }

    /// The longest start of `text` that fits in `columns`.
    static func prefix(_ text: String, fitting columns: Int) -> String {
        var used = 0
        var result = ""
        for character in text {
            let width = of(character)
            guard used + width <= columns else { break }
            used += width
            result.append(character)
        }
        return result
    }

    private static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isEmojiPresentation { return true }
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
