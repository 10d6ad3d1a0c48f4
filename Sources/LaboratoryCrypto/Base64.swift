import CLaboratorySSL

/// Standard base64 (RFC 4648 section 4) through OpenSSL's encoder.
package enum Base64 {
    /// Encodes `bytes`; with `padding: false` the trailing `=` are removed.
    package static func encode(_ bytes: [UInt8], padding: Bool = true) -> String {
        guard !bytes.isEmpty else { return "" }
        var output = [UInt8](repeating: 0, count: 4 * ((bytes.count + 2) / 3) + 1)
        let length = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { EVP_EncodeBlock(out.baseAddress, $0.baseAddress, Int32($0.count)) }
        }
        var text = String(decoding: output.prefix(Int(length)), as: UTF8.self)
        if !padding {
            while text.hasSuffix("=") { text.removeLast() }
        }
        return text
    }
}
