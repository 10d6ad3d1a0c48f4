// The frame decoder: `Frame.payloadLength` and the streaming split that `FrameDecoder` (NIO)
// performs, fed an arbitrary byte stream in arbitrary chunks.
//
// Input: byte 0 picks the maximum payload size, byte 1 seeds the chunk sizes, the rest is the
// stream. Invariants: the frames plus what is left re-encode to exactly the stream (or, after a
// refused length, to the stream up to that length prefix); no frame exceeds the maximum; a
// refused prefix really exceeds it; the pending buffer never holds more than one header and one
// maximum payload; splitting in chunks gives the same frames as splitting the whole stream.

import LaboratoryProtocol

let maximums = [0, 1, 16, 255, 256, 4096, 65_536, Frame.defaultMaximumPayloadByteCount]

struct Split {
    var frames: [[UInt8]] = []
    /// Bytes received but not yet a whole frame.
    var pending: [UInt8] = []
    /// Where a length prefix over the maximum began, if one did.
    var refusedAt: Int?
}

/// Feeds `stream` to a decoder `chunkSize(n)` bytes at a time, decoding after each chunk as
/// `ByteToMessageHandler` calls `FrameDecoder.decode` until it returns nothing.
func split(_ stream: [UInt8], maximum: Int, chunkSize: (Int) -> Int) -> Split {
    var result = Split()
    var consumed = 0
    var position = 0
    var chunk = 0
    while position < stream.count && result.refusedAt == nil {
        let end = min(stream.count, position + max(1, chunkSize(chunk)))
        result.pending += stream[position..<end]
        position = end
        chunk += 1
        while result.pending.count >= Frame.headerByteCount {
            let length: Int
            do {
                length = try Frame.payloadLength(header: result.pending.prefix(Frame.headerByteCount), maximum: maximum)
            } catch let error as ProtocolError {
                check(error.closeReason.code == .frameTooLarge, "payloadLength threw \(error)")
                result.refusedAt = consumed
                break
            } catch {
                fatalError("payloadLength threw a non-protocol error: \(error)")
            }
            check(length >= 0 && length <= maximum, "length \(length) passed a maximum of \(maximum)")
            guard result.pending.count >= Frame.headerByteCount + length else { break }
            result.frames.append(Array(result.pending[Frame.headerByteCount..<Frame.headerByteCount + length]))
            result.pending.removeFirst(Frame.headerByteCount + length)
            consumed += Frame.headerByteCount + length
        }
        if result.refusedAt == nil {
            check(
                result.pending.count < Frame.headerByteCount + maximum,
                "\(result.pending.count) bytes pending with a maximum of \(maximum)")
        }
    }
    return result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = InputReader(bytes(data, size))
    guard let pick = input.byte(), let seed = input.byte() else { return 0 }
    let maximum = maximums[Int(pick) % maximums.count]
    let stream = input.rest()

    var state = UInt32(seed) | 1
    let chunked = split(stream, maximum: maximum) { _ in
        state = state &* 1_103_515_245 &+ 12345
        return Int(state >> 16) % 23
    }
    let whole = split(stream, maximum: maximum) { _ in stream.count }
    // After a refused prefix the decoder stops reading, so what is pending depends on the chunks.
    check(
        chunked.frames == whole.frames && chunked.refusedAt == whole.refusedAt
            && (chunked.refusedAt != nil || chunked.pending == whole.pending),
        "chunked and whole splits differ")

    var reencoded = chunked.frames.flatMap { Frame.encode($0) }
    if let refusedAt = chunked.refusedAt {
        check(reencoded.count == refusedAt, "frames before the refused prefix do not end where it starts")
        let header = Array(stream[refusedAt..<refusedAt + Frame.headerByteCount])
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        check(length > maximum, "refused a length of \(length) under the maximum \(maximum)")
    } else {
        reencoded += chunked.pending
        check(reencoded == stream, "frames and pending bytes do not re-encode to the stream")
    }
    for frame in chunked.frames {
        check(
            (try? Frame.payloadLength(header: Frame.header(payloadLength: frame.count), maximum: maximum))
                == frame.count,
            "the header of a \(frame.count)-byte frame does not read back")
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    writeSeedsIfAsked {
        let hello = Frame.encode(Array("LABR".utf8) + [0, 1] + [UInt8](repeating: 0x30, count: 40))
        return [
            ("two-frames", [5, 7] + Frame.encode([1, 2, 3]) + Frame.encode([UInt8](repeating: 9, count: 300))),
            ("empty-frames", [2, 1] + Frame.encode([]) + Frame.encode([]) + Frame.encode([0x95])),
            ("ff-prefix", [6, 3] + [0xFF, 0xFF, 0xFF, 0xFF] + [1, 2, 3]),
            ("over-maximum", [3, 4] + Frame.header(payloadLength: 256) + [UInt8](repeating: 1, count: 10)),
            ("truncated", [5, 9] + Array(Frame.encode([UInt8](repeating: 4, count: 100)).prefix(50))),
            ("hello-like", [7, 2] + hello),
        ]
    }
    return 0
}
