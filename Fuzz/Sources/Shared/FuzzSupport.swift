// Shared by every harness: invariant checks and seed writing.

#if canImport(Glibc)
    import Glibc
#endif

/// Stops the run with `message` when an invariant does not hold; libFuzzer keeps the input.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: \(message())") }
}

/// The input as an array.
func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// When `LABORATORY_FUZZ_SEEDS` names a directory, writes `seeds` there (one file each) and exits:
/// `scripts/fuzz --seeds` regenerates `Fuzz/Corpus/<harness>/` this way, so the seeds always
/// follow the code's encodings.
func writeSeedsIfAsked(_ seeds: () -> [(name: String, bytes: [UInt8])]) {
    guard let directory = getenv("LABORATORY_FUZZ_SEEDS").map({ String(cString: $0) }) else { return }
    for seed in seeds() {
        let path = directory + "/" + seed.name
        guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        _ = seed.bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }
    exit(0)
}

/// Reads an input from the front, a field at a time; every read past the end returns nothing.
struct InputReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }

    mutating func byte() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, index + count)
        defer { index = end }
        return Array(bytes[index..<end])
    }

    mutating func rest() -> [UInt8] { take(bytes.count - index) }
}
