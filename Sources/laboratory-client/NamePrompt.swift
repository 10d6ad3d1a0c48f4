import LaboratoryProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Terminal {
    /// Tells the person at the terminal why the server rejected their display name and reads
    /// another from standard input; `nil` (give up) at end of input or on an empty line.
    @Sendable static func askName(after rejection: NameRejection, palette: Palette) -> String? {
        let left = rejection.attemptsLeft == 1 ? "1 more try" : "\(rejection.attemptsLeft) more tries"
        put(
            palette.paint("The server rejected the name: \(EventText.clean(rejection.reason)).", as: .error)
                + "\nAnother name (\(left); empty to give up): ", to: STDERR_FILENO)
        guard let line = readLine(), !line.isEmpty else { return nil }
        return line
    }
}
