/// The rules for display names, shared by the handshake and (later) renaming.
///
/// A name is 1 to 32 Unicode characters, has no leading or trailing whitespace, and contains no
/// control or format characters (so it cannot rewrite a terminal or hide text).
public enum DisplayName {
    /// The longest name, in characters.
    public static let maximumLength = 32

    /// Returns `name` if it follows the rules.
    ///
    /// - Throws: ``ProtocolError`` with ``CloseReason/Code/invalidName`` and the rule broken.
    public static func validate(_ name: String) throws -> String {
        func reject(_ why: String) -> ProtocolError {
            ProtocolError(CloseReason(.invalidName, "display name \(why)"))
        }
        guard !name.isEmpty else { throw reject("is empty") }
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
