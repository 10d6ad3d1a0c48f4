#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The colours of the client's lines: sent, received, information and errors each have their
/// own when standard output is a terminal and `NO_COLOR` is unset; otherwise text stays plain.
struct Palette: Sendable {
    /// What a line is.
    enum Style: Sendable {
        /// Something you said.
        case sent
        /// Something someone else said, or a reply.
        case received
        /// A notice from the client or the server.
        case info
        /// Something failed.
        case error
        /// The input prompt.
        case prompt
        /// The status line above the prompt.
        case status
    }

    /// Whether to colour at all.
    var colored: Bool

    /// Colours when standard output is a terminal and `NO_COLOR` is unset or empty.
    static func detect(environment: [String: String]) -> Palette {
        Palette(colored: isatty(STDOUT_FILENO) != 0 && (environment["NO_COLOR"] ?? "").isEmpty)
    }

    /// `text` wrapped in the style's ANSI colour, or `text` itself when colour is off.
    func paint(_ text: String, as style: Style) -> String {
        guard colored else { return text }
        let code =
            switch style {
            case .sent: "32"
            case .received: "36"
            case .info: "33"
            case .error: "1;31"
            case .prompt: "1"
            case .status: "7"
            }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
