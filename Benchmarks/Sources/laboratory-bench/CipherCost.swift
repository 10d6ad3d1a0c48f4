@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// What AES-256-GCM costs per record at the sizes echo and bulk send, measured in this process
/// through the same `RecordSealer` and `RecordOpener` (OpenSSL's EVP interface, one context per
/// direction, a nonce per record) that the server and this generator use: the cipher's part of a
/// round trip, from which Report derives the bound on an encrypted server (Docs/PERFORMANCE.md,
/// "Bounds").
struct CipherCost: Codable {
    /// Plaintext bytes of the request record (request head and body).
    var requestBytes: Int
    /// Plaintext bytes of the response record (response head and body).
    var responseBytes: Int
    /// Thread CPU microseconds to seal one request record, to open it, to seal one response
    /// record, to open it.
    var sealRequestMicroseconds: Double
    var openRequestMicroseconds: Double
    var sealResponseMicroseconds: Double
    var openResponseMicroseconds: Double

    /// The cipher's CPU per round trip: the client seals the request, the server opens it, the
    /// server seals the response, the client opens it.
    var roundTripMicroseconds: Double {
        sealRequestMicroseconds + openRequestMicroseconds + sealResponseMicroseconds + openResponseMicroseconds
    }

    /// Measures records of an echo request and its response with a `bodyBytes`-byte body, each
    /// operation for about `seconds` of this thread's CPU time.
    static func measure(bodyBytes: Int, seconds: Double) throws -> CipherCost {
        let body = [UInt8](repeating: 0x5A, count: bodyBytes)
        let request = ClientMessage.request(Request(id: 1, service: "echo", body: body)).encoded()
        let response = ServerMessage.response(Response(requestID: 1, status: .ok, body: body)).encoded()
        let (sealRequest, openRequest) = try sealAndOpen(request, seconds: seconds)
        let (sealResponse, openResponse) = try sealAndOpen(response, seconds: seconds)
        return CipherCost(
            requestBytes: request.count, responseBytes: response.count, sealRequestMicroseconds: sealRequest,
            openRequestMicroseconds: openRequest, sealResponseMicroseconds: sealResponse,
            openResponseMicroseconds: openResponse)
    }

    /// Seals batches of `plaintext` into separate buffers, then opens them in order, until each
    /// side has used `seconds` of thread CPU time; returns microseconds per seal and per open.
    private static func sealAndOpen(_ plaintext: [UInt8], seconds: Double) throws -> (Double, Double) {
        let key = try SecureRandom.bytes(count: 32)
        let iv = try SecureRandom.bytes(count: 12)
        let sealer = try RecordSealer(key: key, iv: iv)
        let opener = try RecordOpener(key: key, iv: iv)
        let sealedCount = plaintext.count + AES256GCM.tagByteCount
        // A batch of about 1 MiB (at least 16 records), so the clock is read rarely.
        let batch = max(16, (1 << 20) / sealedCount)
        var sealed = [UInt8](repeating: 0, count: batch * sealedCount)
        var opened = [UInt8](repeating: 0, count: plaintext.count)
        var sealTime = 0.0
        var openTime = 0.0
        var records = 0
        while sealTime < seconds || openTime < seconds {
            let start = threadCPUSeconds()
            try plaintext.withUnsafeBytes { input in
                try sealed.withUnsafeMutableBytes { output in
                    for index in 0..<batch {
                        let record = UnsafeMutableRawBufferPointer(
                            rebasing: output[(index * sealedCount)..<((index + 1) * sealedCount)])
                        try sealer.seal(input, into: record)
                    }
                }
            }
            let middle = threadCPUSeconds()
            try sealed.withUnsafeBytes { input in
                try opened.withUnsafeMutableBytes { output in
                    for index in 0..<batch {
                        let record = UnsafeRawBufferPointer(
                            rebasing: input[(index * sealedCount)..<((index + 1) * sealedCount)])
                        try opener.open(record, into: output)
                    }
                }
            }
            let end = threadCPUSeconds()
            sealTime += middle - start
            openTime += end - middle
            records += batch
        }
        precondition(opened == plaintext, "the records did not open to what was sealed")
        return (sealTime / Double(records) * 1e6, openTime / Double(records) * 1e6)
    }
}

/// This thread's CPU time in seconds: unlike the wall clock, not stretched by other load.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
