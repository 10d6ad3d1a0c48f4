import Foundation
import Laboratory
import Logging
import Testing

/// Figures for the performance notes, not assertions: run with `LABORATORY_MEASURE=1`. Calls the
/// chat service directly (its own path, without sockets), through JSON bodies only, so the same
/// file measures earlier versions too.
@Suite("Chat measurements", .enabled(if: ProcessInfo.processInfo.environment["LABORATORY_MEASURE"] != nil))
struct ChatMeasurements {
    static func context(_ id: UInt64) -> LaboratoryServiceContext {
        LaboratoryServiceContext(
            session: SessionIdentity(connectionID: id, remoteAddress: nil, displayName: "m\(id)"),
            logger: Logger(label: "measure"), serviceName: "chat",
            events: EventSink(connectionID: id) { _ in true })
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("CPU per rooms request over 10,000 rooms")
    func roomsCost() async throws {
        let chat = ChatService()
        // Each room made by its own session, so no per-session budget applies.
        for index in 0..<10_000 {
            let context = Self.context(UInt64(index + 1))
            let room = String(format: "room-%05d", index)
            _ = try await chat.handle(Array(#"{"op":"join","room":"\#(room)"}"#.utf8), context: context)
            _ = try await chat.handle(Array(#"{"op":"leave","room":"\#(room)"}"#.utf8), context: context)
            await chat.sessionDidEnd(context.session)
        }
        let body = Array(#"{"op":"rooms"}"#.utf8)
        // Answered requests: each from a fresh session, whose budget is full.
        let count = 200
        var bytes = 0
        let start = Self.cpuSeconds()
        for index in 0..<count {
            bytes += try await chat.handle(body, context: Self.context(UInt64(100_000 + index))).count
        }
        let answered = (Self.cpuSeconds() - start) / Double(count)
        // Repeated from one session: after its burst, refused (where a budget exists).
        let attacker = Self.context(999_999)
        var refused = 0
        let repeatStart = Self.cpuSeconds()
        for _ in 0..<2000 {
            do { _ = try await chat.handle(body, context: attacker) } catch { refused += 1 }
        }
        let repeated = (Self.cpuSeconds() - repeatStart) / 2000
        print(
            "MEASURE rooms over 10,000 rooms: \(String(format: "%.1f", answered * 1e6)) µs CPU and "
                + "\(bytes / count) bytes per answered request; repeated by one session: "
                + "\(String(format: "%.1f", repeated * 1e6)) µs CPU per request, \(refused) of 2000 refused")
    }

    @Test("CPU per say: fan-out to 200 members and a room of one")
    func sayCost() async throws {
        var limits = ChatLimits()
        limits.deliveryRate = nil
        try await Self.measureSay(ChatService(limits: limits), "")
    }

    @Test("CPU per say over a backplane given explicitly (the shared path), the in-memory one")
    func sharedSayCost() async throws {
        var limits = ChatLimits()
        limits.deliveryRate = nil
        try await Self.measureSay(ChatService(limits: limits, backplane: InMemoryChatBackplane()), " (shared path)")
    }

    static func measureSay(_ chat: ChatService, _ label: String) async throws {
        for (room, members) in [("fanout", 200), ("alone", 1)] {
            for index in 0..<members {
                let context = Self.context(UInt64(index + 1))
                _ = try await chat.handle(Array(#"{"op":"join","room":"\#(room)"}"#.utf8), context: context)
            }
            let speaker = Self.context(1)
            let body = Array(#"{"op":"say","room":"\#(room)","text":"hello, room"}"#.utf8)
            let count = members == 1 ? 20_000 : 2000
            for _ in 0..<100 { _ = try await chat.handle(body, context: speaker) }
            let start = Self.cpuSeconds()
            for _ in 0..<count { _ = try await chat.handle(body, context: speaker) }
            let perSay = (Self.cpuSeconds() - start) / Double(count)
            print(
                "MEASURE say to \(members) member(s)\(label): \(String(format: "%.2f", perSay * 1e6)) µs CPU per say")
            for index in 0..<members { await chat.sessionDidEnd(Self.context(UInt64(index + 1)).session) }
        }
    }

    @Test("resident memory over a million room create/leave cycles")
    func churnMemory() async throws {
        let chat = ChatService()
        let cycles = Int(ProcessInfo.processInfo.environment["LABORATORY_CYCLES"] ?? "") ?? 1_000_000
        var figures: [String] = ["0: \(Self.residentKiB()) KiB"]
        for cycle in 0..<cycles {
            let context = Self.context(UInt64(cycle + 1))
            let room = "room-\(cycle)"
            _ = try await chat.handle(Array(#"{"op":"join","room":"\#(room)"}"#.utf8), context: context)
            _ = try await chat.handle(Array(#"{"op":"leave","room":"\#(room)"}"#.utf8), context: context)
            await chat.sessionDidEnd(context.session)
            if (cycle + 1) % (cycles / 4) == 0 { figures.append("\(cycle + 1): \(Self.residentKiB()) KiB") }
        }
        print("MEASURE resident memory over \(cycles) create/leave cycles: \(figures.joined(separator: ", "))")
    }
}
