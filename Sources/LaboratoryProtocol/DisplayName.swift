/// The rules for display names, shared by the handshake and (later) renaming.
///
/// A name is 1 to 32 Unicode characters and at most 1,024 bytes of UTF-8, has no leading or
/// trailing whitespace, and contains no control or format characters (so it cannot rewrite a
/// terminal or hide text).
package enum DisplayName {
    /// The longest name, in characters.
    package static let maximumLength = 32
    /// The longest name, in bytes of UTF-8. One character can hold any number of combining marks,
    /// so the character count alone bounds nothing: without this a valid name could be too long
    /// for the handshake's 4 KiB frame limit (PROTOCOL.md §3), or 64 KiB in a rename. 1,024 bytes
    /// is 32 bytes per character, beyond any real script's clusters.
    package static let maximumByteCount = 1024

    /// Returns `name` if it follows the rules.
    ///
    /// - Throws: ``ProtocolError`` with ``CloseReason/Code/invalidName`` and the rule broken.
    package static func validate(_ name: String) throws -> String {
        func reject(_ why: String) -> ProtocolError {
            ProtocolError(CloseReason(.invalidName, "display name \(why)"))
        }
        guard !name.isEmpty else { throw reject("is empty") }
        // Bytes first: counting characters means finding grapheme boundaries in all of it.
        guard name.utf8.count <= maximumByteCount else {
            throw reject("has \(name.utf8.count) bytes of UTF-8; the maximum is \(maximumByteCount)")
        }
        guard name.count <= maximumLength else {
            throw reject("has \(name.count) characters; the maximum is \(maximumLength)")
        }
        guard name.first?.isWhitespace == false, name.last?.isWhitespace == false else {
            throw reject("starts or ends with whitespace")
        }
        for scalar in name.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                throw reject("contains the disallowed character U+\(String(scalar.value, radix: 16, uppercase: true))")
            default: continue
            }
        }
        return name
    }
}
