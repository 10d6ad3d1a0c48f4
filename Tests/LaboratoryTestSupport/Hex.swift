/// Decodes a hex string (whitespace ignored, either case), or `nil` if it is not an even number of
/// hex digits.
package func bytes(parsingHex hex: String) -> [UInt8]? {
    let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
    guard digits.count.isMultiple(of: 2) else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}

/// Decodes a hex string (whitespace ignored); traps on malformed input, since test vectors are
/// constants.
package func bytes(hex: String) -> [UInt8] {
    guard let bytes = bytes(parsingHex: hex) else { preconditionFailure("not an even number of hex digits: \(hex)") }
    return bytes
}

/// Lower-case hex of `bytes`.
package func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}

private func nibble(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}
