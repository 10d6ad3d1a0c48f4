/// A strict parser for the Prometheus text exposition format (version 0.0.4), for tests that
/// scrape `/metrics`: every line must be a `# HELP` line, a `# TYPE` line or a sample of a family
/// whose TYPE came before it; names, labels, escapes and values are checked; anything else throws
/// with the line's number.
package struct PrometheusText: Sendable {
    /// One sample line.
    package struct Sample: Sendable, Equatable {
        package let name: String
        package let labels: [String: String]
        package let value: Double
    }

    /// The families' types by name, as declared by their TYPE lines.
    package private(set) var types: [String: String] = [:]
    /// The families' help texts by name (unescaped).
    package private(set) var help: [String: String] = [:]
    /// Every sample, in order.
    package private(set) var samples: [Sample] = []

    /// Why a text is not valid exposition format.
    package struct Invalid: Error, CustomStringConvertible {
        package let line: Int
        package let reason: String
        package let text: String
        package var description: String { "line \(line): \(reason): \(text.debugDescription)" }
    }

    /// Parses `text`; throws ``Invalid`` at the first line that breaks the format.
    package init(parsing text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else {
            throw Invalid(line: 0, reason: "the text does not end with a line feed", text: String(text.suffix(40)))
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // after the final line feed
        var seenSampleFamilies: Set<String> = []
        var seenSeries: Set<String> = []
        for (index, line) in lines.enumerated() {
            let number = index + 1
            func invalid(_ reason: String) -> Invalid { Invalid(line: number, reason: reason, text: String(line)) }
            if line.hasPrefix("#") {
                let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard fields.count >= 3, fields[0] == "#" else { throw invalid("a comment that is not HELP or TYPE") }
                let name = String(fields[2])
                guard Self.isMetricName(name) else { throw invalid("invalid metric name") }
                switch fields[1] {
                case "HELP":
                    guard help[name] == nil else { throw invalid("a second HELP line for \(name)") }
                    guard let text = Self.unescape(fields.count == 4 ? fields[3] : "", quotes: false) else {
                        throw invalid("bad escape in help text")
                    }
                    help[name] = text
                case "TYPE":
                    guard fields.count == 4,
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(fields[3])
                    else { throw invalid("unknown type") }
                    guard types[name] == nil else { throw invalid("a second TYPE line for \(name)") }
                    guard !seenSampleFamilies.contains(name) else { throw invalid("TYPE after samples of \(name)") }
                    types[name] = String(fields[3])
                default:
                    throw invalid("a comment that is not HELP or TYPE")
                }
                continue
            }
            guard let sample = Self.sample(line) else { throw invalid("not a sample line") }
            guard let family = family(of: sample.name) else { throw invalid("a sample without a TYPE line before it") }
            if types[family] == "histogram", sample.name == family + "_bucket" {
                guard let bound = sample.labels["le"], Self.number(bound) != nil else {
                    throw invalid("a histogram bucket without a numeric le label")
                }
            }
            let series =
                sample.name + "{"
                + sample.labels.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }
                .joined(separator: ",") + "}"
            guard seenSeries.insert(series).inserted else { throw invalid("a repeated series") }
            seenSampleFamilies.insert(family)
            samples.append(sample)
        }
    }

    /// The value of the one sample called `name` whose labels include `labels`; `nil` if there is
    /// none (fails the caller's expectation if several match).
    package func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.count == 1 ? matching[0].value : nil
    }

    /// The family a sample name belongs to: itself, or a histogram's or summary's with its suffix.
    private func family(of name: String) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base], type == "histogram" || (type == "summary" && suffix != "_bucket") {
                return base
            }
        }
        return nil
    }

    /// `name{label="value",...} value [timestamp]`, or `nil`.
    private static func sample(_ line: Substring) -> Sample? {
        var rest = line[...]
        let nameEnd = rest.firstIndex { $0 == "{" || $0 == " " } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard isMetricName(name) else { return nil }
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                guard let equals = rest.firstIndex(of: "=") else { return nil }
                let label = String(rest[..<equals])
                guard isLabelName(label), labels[label] == nil else { return nil }
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                // The value ends at the first quote not escaped by a backslash.
                var end = rest.startIndex
                var escaped = false
                while end < rest.endIndex, escaped || rest[end] != "\"" {
                    escaped = !escaped && rest[end] == "\\"
                    end = rest.index(after: end)
                }
                guard end < rest.endIndex, let value = unescape(rest[..<end], quotes: true) else { return nil }
                labels[label] = value
                rest = rest[rest.index(after: end)...]
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { return nil }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { return nil }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 1 || fields.count == 2, let value = number(fields[0]) else { return nil }
        if fields.count == 2 {
            guard Int64(fields[1]) != nil else { return nil }
        }
        return Sample(name: name, labels: labels, value: value)
    }

    /// A sample value: a Go float literal, `+Inf`, `-Inf` or `NaN`.
    private static func number(_ text: some StringProtocol) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default:
            guard !text.isEmpty,
                text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) })
            else { return nil }
            return Double(String(text))
        }
    }

    /// Undoes `\\`, `\n` (and `\"` in label values); `nil` for any other escape or a lone backslash.
    private static func unescape(_ text: Substring, quotes: Bool) -> String? {
        var result = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else {
                if quotes, character == "\"" || character == "\n" { return nil }
                result.append(character)
                continue
            }
            switch iterator.next() {
            case "\\": result.append("\\")
            case "n": result.append("\n")
            case "\"" where quotes: result.append("\"")
            default: return nil
            }
        }
        return result
    }

    private static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isNameStart(first) || first == ":" else { return false }
        return name.unicodeScalars.allSatisfy { isNameStart($0) || $0 == ":" || ("0"..."9").contains($0) }
    }

    private static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isNameStart(first) else { return false }
        return name.unicodeScalars.allSatisfy { isNameStart($0) || ("0"..."9").contains($0) }
    }

    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
    }
}
