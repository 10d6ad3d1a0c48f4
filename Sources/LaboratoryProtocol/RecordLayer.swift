@_spi(Benchmarks) import LaboratoryCrypto

/// Seals the frames of one direction: AES-256-GCM, nonce = IV XOR the 64-bit frame counter
/// (big-endian, in the last eight bytes), as in TLS 1.3. The counter starts at 0 and never wraps.
@_spi(Benchmarks) public final class RecordSealer {
    private var cipher: AES256GCM
    private var key: [UInt8]
    private var iv: [UInt8]
    /// The counter the next sealed frame will use; back to 0 after each key update.
    public private(set) var counter: UInt64 = 0
    /// Payload bytes sealed with the current key.
    public private(set) var bytesSealed: UInt64 = 0

    /// Creates a sealer for one direction's key and IV.
    public init(key: [UInt8], iv: [UInt8]) throws {
        cipher = try AES256GCM(key: key, direction: .seal)
        self.key = key
        self.iv = iv
    }

    /// Switches to the key that `update` derives; call right after sealing the update itself.
    public func apply(_ update: KeyUpdate) throws {
        let next = try update.nextKey(after: key)
        cipher = try AES256GCM(key: next.key, direction: .seal)
        key = next.key
        iv = next.iv
        counter = 0
        bytesSealed = 0
    }

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
        guard counter < UInt64.max else {
            throw ProtocolError(CloseReason(.internalError, "frame counter exhausted; the session must end"))
        }
        try withRecordNonce(iv: iv, counter: counter) { nonce in
            try cipher.seal(plaintext, nonce: nonce, into: output)
        }
        counter += 1
        bytesSealed += UInt64(plaintext.count)
    }
}

/// Opens the frames of one direction; the counterpart of ``RecordSealer``. A frame that fails to
/// open (tampered, replayed, reordered, reflected, wrong key) throws and the session must end.
@_spi(Benchmarks) public final class RecordOpener {
    private var cipher: AES256GCM
    private var key: [UInt8]
    private var iv: [UInt8]
    /// The counter the next frame must have been sealed with; back to 0 after each key update.
    public private(set) var counter: UInt64 = 0
    /// Payload bytes opened with the current key.
    public private(set) var bytesOpened: UInt64 = 0

    /// Creates an opener for one direction's key and IV.
    public init(key: [UInt8], iv: [UInt8]) throws {
        cipher = try AES256GCM(key: key, direction: .open)
        self.key = key
        self.iv = iv
    }

    /// Switches to the key that `update` derives; call right after opening the update itself.
    public func apply(_ update: KeyUpdate) throws {
        let next = try update.nextKey(after: key)
        cipher = try AES256GCM(key: next.key, direction: .open)
        key = next.key
        iv = next.iv
        counter = 0
        bytesOpened = 0
    }

    /// Opens one frame payload.
    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0) }
    }

    /// Opens one frame payload read in place (for example from the buffer it arrived in).
    public func open(_ sealed: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard counter < UInt64.max else {
            throw ProtocolError(CloseReason(.internalError, "frame counter exhausted; the session must end"))
        }
        do {
            let plaintext = try withRecordNonce(iv: iv, counter: counter) { try cipher.open(sealed, nonce: $0) }
            counter += 1
            bytesOpened += UInt64(plaintext.count)
            return plaintext
        } catch {
            throw ProtocolError(
                CloseReason(
                    .decryptionFailed,
                    "frame \(counter) did not authenticate (tampered, replayed, reordered or wrong key)"))
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
