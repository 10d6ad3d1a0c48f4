import Foundation

extension ChatRequest {
    /// One decoder for every request that is not read directly: creating one per request costs
    /// allocations, and a `JSONDecoder` whose options are never changed may be shared.
    private static let decoder = JSONDecoder()

    /// Decodes a chat request body, first checking it against the strict JSON rules
    /// (``StrictJSON``): this is how the server reads every chat request.
    ///
    /// A `say`, `join`, `leave` or `direct` whose names and fields are plain (no escapes, the
    /// integers in range) is read directly from the checked bytes (``plainRequest(_:)``); every
    /// other body, and every body in error, goes to `JSONDecoder`, which names what is wrong.
    package init(strictJSON body: [UInt8]) throws {
        try StrictJSON.validateObject(body)
        if let request = Self.plainRequest(body) {
            self = request
        } else {
            self = try Self.decoder.decode(ChatRequest.self, from: Data(body))
        }
    }

    /// The request in `body`, a body that has passed ``StrictJSON/validateObject(_:)``, when it
    /// is a `say`, `join`, `leave` or `direct` whose member names have no escapes and whose fields
    /// have plain values: strings without escapes, integers from 0 to 2^64 − 1. Otherwise `nil`,
    /// and `JSONDecoder` decides. Whatever this returns is what `JSONDecoder` returns for the
    /// same body; it only skips its allocations.
    package static func plainRequest(_ body: [UInt8]) -> ChatRequest? {
        var scanner = StrictJSON.Scanner(bytes: body)
        var fields = PlainFields()
        do {
            scanner.skipWhitespace()
            guard scanner.peek == UInt8(ascii: "{") else { return nil }
            scanner.index += 1
            scanner.skipWhitespace()
            guard scanner.peek != UInt8(ascii: "}") else { return nil }
            while true {
                scanner.skipWhitespace()
                let name = scanner.index
                guard scanner.peek == UInt8(ascii: "\"") else { return nil }
                try scanner.string()
                let nameEnd = scanner.index
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"))
                scanner.skipWhitespace()
                let value = scanner.index
                try scanner.value(depth: 2)
                guard fields.record(name: name + 1..<nameEnd - 1, value: value..<scanner.index, in: body) else {
                    return nil
                }
                scanner.skipWhitespace()
                if scanner.peek == UInt8(ascii: ",") {
                    scanner.index += 1
                    continue
                }
                try scanner.expect(UInt8(ascii: "}"))
                break
            }
        } catch {
            return nil
        }
        return fields.request(in: body)
    }

    /// Where a body's top-level fields of interest lie.
    private struct PlainFields {
        var op: Range<Int>?
        var room: Range<Int>?
        var text: Range<Int>?
        var after: Range<Int>?
        var to: Range<Int>?

        /// Notes a member; `false` if its name has an escape (it might spell a field's name).
        mutating func record(name: Range<Int>, value: Range<Int>, in body: [UInt8]) -> Bool {
            if body[name].contains(UInt8(ascii: "\\")) { return false }
            if Self.equal(body[name], "op") {
                op = value
            } else if Self.equal(body[name], "room") {
                room = value
            } else if Self.equal(body[name], "text") {
                text = value
            } else if Self.equal(body[name], "after") {
                after = value
            } else if Self.equal(body[name], "to") {
                to = value
            }
            return true
        }

        func request(in body: [UInt8]) -> ChatRequest? {
            guard let op else { return nil }
            let value = body[op]
            if Self.equal(value, #""say""#) {
                guard let room = Self.string(room, in: body), let text = Self.string(text, in: body) else { return nil }
                return .say(room: room, text: text)
            } else if Self.equal(value, #""join""#) {
                guard let room = Self.string(room, in: body) else { return nil }
                guard let after else { return .join(room: room, after: nil) }
                guard let number = Self.integer(after, in: body) else { return nil }
                return .join(room: room, after: number)
            } else if Self.equal(value, #""leave""#) {
                guard let room = Self.string(room, in: body) else { return nil }
                return .leave(room: room)
            } else if Self.equal(value, #""direct""#) {
                guard let to = Self.integer(to, in: body), let text = Self.string(text, in: body) else { return nil }
                return .direct(to: to, text: text)
            }
            return nil
        }

        /// A string value without escapes.
        static func string(_ range: Range<Int>?, in body: [UInt8]) -> String? {
            guard let range, body[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
            let contents = body[range.lowerBound + 1..<range.upperBound - 1]
            guard !contents.contains(UInt8(ascii: "\\")) else { return nil }
            return String(decoding: contents, as: UTF8.self)
        }

        /// An integer value from 0 to 2^64 − 1.
        static func integer(_ range: Range<Int>?, in body: [UInt8]) -> UInt64? {
            guard let range else { return nil }
            var number: UInt64 = 0
            for byte in body[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                let (times10, overflow) = number.multipliedReportingOverflow(by: 10)
                let (sum, carry) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                guard !overflow, !carry else { return nil }
                number = sum
            }
            return number
        }

        static func equal(_ bytes: ArraySlice<UInt8>, _ word: StaticString) -> Bool {
            word.withUTF8Buffer { word in bytes.elementsEqual(word) }
        }
    }
}
