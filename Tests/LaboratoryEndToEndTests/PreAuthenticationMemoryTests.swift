@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

extension Adversarial {
    /// The memory an unauthenticated flood can make the server hold, against the
    /// `laboratory-server` process (its memory alone, from `/proc`).
    @Suite("Pre-authentication memory", .timeLimit(.minutes(2)))
    struct PreAuthenticationMemoryTests {
        @Test("wrong passwords followed by 1 MiB frames from 270 connections: bounded peak, memory given back")
        func wrongPasswordThenLargeFrames() async throws {
            // Every attacker admitted at once (the worst case for memory): 90 addresses × 3.
            let (target, before) = try await Self.startTarget()
            // One 1 MiB frame, shared by every write (a ByteBuffer is copied on write only).
            var large = ByteBuffer()
            large.writeInteger(UInt32(1 << 20))
            large.writeRepeatingByte(0x41, count: 1 << 20)
            let frame = large
            // Each address in its own /24, so that the per-network cap does not refuse them.
            let outcomes = await Self.wrongPasswordThenSend(
                port: target.port, from: (0..<270).map { AttackSource.network(block: 41, $0 / 3) }
            ) { channel in
                // Never awaited: the server is expected to stop reading.
                for _ in 0..<10 { channel.writeAndFlush(frame, promise: nil) }
            }
            let atEnd = try target.memory()
            // The server gives freed memory back within its reclaim interval (10 s) after a burst.
            var settled = atEnd
            let deadline = ContinuousClock.now + .seconds(40)
            while settled.resident > before.resident + before.resident / 10, ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(1))
                settled = try target.memory()
            }
            print("pre-auth memory: before \(before), at the end \(atEnd), settled \(settled)")
            let rejected = outcomes.filter { $0 == .wrongPassword }.count
            #expect(rejected >= 250, "most attackers get their code 6: \(outcomes)")
            #expect(!outcomes.contains(.frameTooLarge), "a frame sent during the delay was read")
            ProcessMemory.expectGrowth(from: before, to: atEnd, below: 64 << 20)
            if !Sanitizer.isActive {
                #expect(
                    settled.resident <= before.resident + before.resident / 10,
                    "resident memory stayed at \(settled) after the attack (before: \(before))")
            }
            await target.stop()
        }

        /// Frames within the 4 KiB limit pass the decoder, so what the connection had read before
        /// its wrong password's delay began stays buffered until it ends. NIO read up to 4 × 64
        /// KiB per readable event before the inbound stream's backpressure applied: about 310 KiB
        /// per connection (+76 MiB for these 250). Reading once, at most 4 KiB, per event until
        /// acceptance bounds it by the stream's watermark: about 115 KiB with the connection's own
        /// state, the same whether 64 KiB or 256 KiB were sent.
        @Test("wrong passwords followed by 64 legal 4 KiB frames from 250 connections: bounded peak")
        func wrongPasswordThenHandshakeSizedFrames() async throws {
            let (target, before) = try await Self.startTarget()
            var frames = ByteBuffer()
            for _ in 0..<64 {
                frames.writeInteger(UInt32(Frame.maximumHandshakePayloadByteCount))
                frames.writeRepeatingByte(0x41, count: Frame.maximumHandshakePayloadByteCount)
            }
            let burst = frames
            let outcomes = await Self.wrongPasswordThenSend(
                port: target.port, from: (0..<250).map { AttackSource.network(block: 43, $0) }
            ) { channel in
                channel.writeAndFlush(burst, promise: nil)
            }
            let atEnd = try target.memory()
            print("pre-auth buffers: before \(before), at the end \(atEnd)")
            #expect(outcomes.filter { $0 == .wrongPassword }.count >= 240, "attackers get their code 6: \(outcomes)")
            ProcessMemory.expectGrowth(from: before, to: atEnd, below: 48 << 20)
            await target.stop()
        }

        /// The executable, admitting up to 400 unfinished handshakes at once, and its memory once it
        /// has settled for a second.
        static func startTarget() async throws -> (TargetProcess, ProcessMemory) {
            let target = try await TargetProcess.start(["--max-startups", "400:30:500"])
            try await Task.sleep(for: .seconds(1))
            return (target, try target.memory())
        }

        /// One connection from each of `sources` at once: completes the key exchange, sends a
        /// wrong password, then `send`s on its channel without waiting; returns the close code
        /// each got (`nil` if it got none, or failed before).
        static func wrongPasswordThenSend(
            port: Int, from sources: [String], _ send: @escaping @Sendable (any Channel) -> Void
        ) async -> [CloseReason.Code?] {
            await withTaskGroup(of: CloseReason.Code?.self) { group in
                for source in sources {
                    group.addTask {
                        do {
                            var raw = try await RawClient.connect(port: port, from: source)
                            try await raw.exchangeKeys()
                            guard try await raw.receive() == .passwordPrompt else { return nil }
                            try await raw.send(.password("a wrong guess"))
                            send(raw.channel)
                            return await raw.waitForClose(within: .seconds(30)).reason?.code
                        } catch {
                            return nil
                        }
                    }
                }
                var codes: [CloseReason.Code?] = []
                for await code in group { codes.append(code) }
                return codes
            }
        }
    }
}
