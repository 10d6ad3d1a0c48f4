@_spi(Benchmarks) import LaboratoryCrypto

/// One direction's key, IV, cipher and counters: what ``RecordSealer`` and ``RecordOpener`` share.
struct RecordDirection {
    private(set) var cipher: AES256GCM
    private var key: [UInt8]
    private(set) var iv: [UInt8]
    private let direction: AES256GCM.Direction
    /// The counter of the next frame; back to 0 after each key update.
    private(set) var counter: UInt64 = 0
    /// Payload bytes passed with the current key.
    private(set) var bytes: UInt64 = 0

    init(key: [UInt8], iv: [UInt8], direction: AES256GCM.Direction) throws {
        cipher = try AES256GCM(key: key, direction: direction)
        self.key = key
        self.iv = iv
        self.direction = direction
    }

    /// Switches to the key that `update` derives, with the counters back at 0.
    mutating func apply(_ update: KeyUpdate) throws {
        let next = try update.nextKey(after: key)
        cipher = try AES256GCM(key: next.key, direction: direction)
        key = next.key
        iv = next.iv
        counter = 0
        bytes = 0
    }

    /// Throws once 2^64 − 1 frames have passed: the nonce must never repeat.
    func checkCounter() throws {
        guard counter < UInt64.max else {
            throw ProtocolError(CloseReason(.internalError, "frame counter exhausted; the session must end"))
        }
    }

    /// Counts one frame of `payloadBytes` as passed.
    mutating func advance(payloadBytes: Int) {
        counter += 1
        bytes += UInt64(payloadBytes)
    }
}

/// Seals the frames of one direction: AES-256-GCM, nonce = IV XOR the 64-bit frame counter
/// (big-endian, in the last eight bytes), as in TLS 1.3. The counter starts at 0 and never wraps.
@_spi(Benchmarks) public final class RecordSealer {
    /// Not checked for exclusive access at run time: each record reads and advances it several
    /// times, and the run-time check cost about 70 instructions each (Docs/PERFORMANCE.md, round
    /// 2f). A sealer is used by one caller at a time, as the OpenSSL context in it requires (the
    /// server's `Outbound` holds it under its lock), and the class is not `Sendable`.
    @exclusivity(unchecked) private var state: RecordDirection
    /// The counter the next sealed frame will use; back to 0 after each key update.
    public var counter: UInt64 { state.counter }
    /// Payload bytes sealed with the current key.
    public var bytesSealed: UInt64 { state.bytes }

    /// Creates a sealer for one direction's key and IV.
    public init(key: [UInt8], iv: [UInt8]) throws {
        state = try RecordDirection(key: key, iv: iv, direction: .seal)
    }

    /// Switches to the key that `update` derives; call right after sealing the update itself.
    public func apply(_ update: KeyUpdate) throws { try state.apply(update) }

    /// Seals one frame payload. Throws once 2^64 − 1 frames have been sealed.
    public func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        var sealed = [UInt8](repeating: 0, count: plaintext.count + AES256GCM.tagByteCount)
        try plaintext.withUnsafeBytes { plaintext in
            try sealed.withUnsafeMutableBytes { output in try seal(plaintext, into: output) }
        }
        return sealed
    }

    /// Seals one frame payload into `output`, which must be exactly `plaintext.count + 16` bytes
    /// (for example the writable part of the buffer the frame is sent in), so the steady-state
    /// path allocates nothing. Throws once 2^64 − 1 frames have been sealed.
    public func seal(_ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try state.checkCounter()
        try withRecordNonce(iv: state.iv, counter: state.counter) { nonce in
            try state.cipher.seal(plaintext, nonce: nonce, into: output)
        }
        state.advance(payloadBytes: plaintext.count)
    }

    /// Seals the first `plaintextCount` bytes of `buffer` where they lie and writes the tag after
    /// them: `buffer` must be exactly `plaintextCount + 16` bytes. For a payload encoded straight
    /// into the buffer the frame is sent in. Throws once 2^64 − 1 frames have been sealed.
    public func seal(inPlace buffer: UnsafeMutableRawBufferPointer, plaintextCount: Int) throws {
        precondition(buffer.count == plaintextCount + AES256GCM.tagByteCount, "buffer must be plaintext + 16 bytes")
        // The cipher reads each block before it writes it: sealing in place is what OpenSSL
        // documents for an input and output that are the same memory.
        try seal(UnsafeRawBufferPointer(rebasing: buffer.prefix(plaintextCount)), into: buffer)
    }
}

/// Opens the frames of one direction; the counterpart of ``RecordSealer``. A frame that fails to
/// open (tampered, replayed, reordered, reflected, wrong key) throws and the session must end.
@_spi(Benchmarks) public final class RecordOpener {
    /// Not checked for exclusive access at run time, as ``RecordSealer``'s: an opener is used by
    /// its connection's reader alone.
    @exclusivity(unchecked) private var state: RecordDirection
    /// The counter the next frame must have been sealed with; back to 0 after each key update.
    public var counter: UInt64 { state.counter }
    /// Payload bytes opened with the current key.
    public var bytesOpened: UInt64 { state.bytes }

    /// Creates an opener for one direction's key and IV.
    public init(key: [UInt8], iv: [UInt8]) throws {
        state = try RecordDirection(key: key, iv: iv, direction: .open)
    }

    /// Switches to the key that `update` derives; call right after opening the update itself.
    public func apply(_ update: KeyUpdate) throws { try state.apply(update) }

    /// Opens one frame payload.
    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0) }
    }

    /// Opens one frame payload read in place (for example from the buffer it arrived in).
    public func open(_ sealed: UnsafeRawBufferPointer) throws -> [UInt8] {
        try state.checkCounter()
        do {
            let plaintext = try withRecordNonce(iv: state.iv, counter: state.counter) {
                try state.cipher.open(sealed, nonce: $0)
            }
            state.advance(payloadBytes: plaintext.count)
            return plaintext
        } catch {
            throw ProtocolError(
                CloseReason(
                    .decryptionFailed,
                    "frame \(state.counter) did not authenticate (tampered, replayed, reordered or wrong key)"))
        }
    }
}

/// Calls `body` with the nonce for frame `counter` in a stack buffer: ``recordNonce(iv:counter:)``
/// without allocating an array per frame.
func withRecordNonce<R>(iv: [UInt8], counter: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    precondition(iv.count == AES256GCM.nonceByteCount, "IV must be 12 bytes")
    return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: AES256GCM.nonceByteCount) { nonce in
        for index in 0..<4 { nonce[index] = iv[index] }
        for index in 0..<8 {
            nonce[4 + index] = iv[4 + index] ^ UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * index))
        }
        return try body(UnsafeRawBufferPointer(nonce))
    }
}

/// The nonce for frame `counter`: the IV with the counter XORed into its last eight bytes.
package func recordNonce(iv: [UInt8], counter: UInt64) -> [UInt8] {
    precondition(iv.count == AES256GCM.nonceByteCount, "IV must be 12 bytes")
    var nonce = iv
    for index in 0..<8 {
        nonce[4 + index] ^= UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * index))
    }
    return nonce
}

// Forms for bodies that stay where they lie (Docs/PERFORMANCE.md, "Bulk").
extension RecordSealer {
    /// Seals one frame payload given as two parts, `head` then `body` (a response's head and the
    /// body a service returned), into `output`, which must be exactly `head.count + body.count + 16`
    /// bytes. `head` may lie exactly where its ciphertext goes (written as plaintext into the
    /// frame's buffer and sealed in place); `body` is read where it is. Throws once 2^64 − 1 frames
    /// have been sealed.
    public func seal(
        head: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    )
        throws
    {
        try state.checkCounter()
        try withRecordNonce(iv: state.iv, counter: state.counter) { nonce in
            try state.cipher.seal(head: head, body: body, nonce: nonce, into: output)
        }
        state.advance(payloadBytes: head.count + body.count)
    }
}

extension RecordOpener {
    /// Opens one frame payload read in place into `output`, which must be exactly
    /// `sealed.count - 16` bytes (check that `sealed` holds at least the tag first): for example
    /// the writable part of a buffer the body then stays in.
    public func open(_ sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try state.checkCounter()
        do {
            try withRecordNonce(iv: state.iv, counter: state.counter) {
                try state.cipher.open(sealed, nonce: $0, into: output)
            }
            state.advance(payloadBytes: output.count)
        } catch {
            throw ProtocolError(
                CloseReason(
                    .decryptionFailed,
                    "frame \(state.counter) did not authenticate (tampered, replayed, reordered or wrong key)"))
        }
    }
}
