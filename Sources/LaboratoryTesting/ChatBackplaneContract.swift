import Foundation
import Laboratory
import LaboratoryProtocol

/// A way in which a `ChatBackplane` broke its contract: what was expected and what happened.
package struct ChatBackplaneContractViolation: Error, CustomStringConvertible {
    package var description: String
}

/// Checks that a chat backplane keeps the contract `ChatBackplane` documents: numbering
/// (consecutive from 1 per room, under concurrent appends), what `append` returns, history after a
/// number and its window, subscriptions (everything appended after they begin, once, in order,
/// nothing of other rooms, ended by `cancel`), presence (join, rename, leave, listing) and the
/// room list (name order, pages, member counts).
///
/// For every implementation, so a test target runs it against each one: `make` returns a
/// backplane (a fresh one, or one on a database: rooms are named `prefix` plus a random part, so
/// earlier runs' rooms do not matter). `historyWindow` is how many events the backplane keeps per
/// room. A subscription must hold 100 undelivered events (the contract's minimum): the check
/// appends 100 before it reads them. Throws a ``ChatBackplaneContractViolation`` at the first
/// breach.
package func checkChatBackplaneContract(
    historyWindow: Int, prefix: String = "contract", make: () async throws -> any ChatBackplane
) async throws {
    let backplane = try await make()
    let run = String(UInt64.random(in: 0..<(1 << 40)), radix: 36)
    func room(_ name: String) -> String { "\(prefix)-\(run)-\(name)" }
    func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw ChatBackplaneContractViolation(description: what()) }
    }
    @Sendable func event(_ text: String, from id: UInt64 = 7) -> ChatEvent {
        ChatEvent(kind: .message, room: nil, sequence: nil, from: id, name: "ada", text: text, time: 1_700_000_000_000)
    }

    // Numbering and what append returns.
    let numbered = room("numbered")
    for expected in UInt64(1)...3 {
        let entry = try await backplane.append(event("m\(expected)"), to: numbered)
        try check(entry.sequence == expected, "append #\(expected) to a new room was numbered \(entry.sequence)")
        let decoded = try JSONDecoder().decode(ChatEvent.self, from: Data(entry.body))
        try check(
            decoded
                == ChatEvent(
                    kind: .message, room: numbered, sequence: expected, from: 7, name: "ada", text: "m\(expected)",
                    time: 1_700_000_000_000),
            "append #\(expected) returned the body \(decoded), not the event with its room and number")
    }

    // History after a number.
    let all = try await backplane.history(of: numbered, after: 0)
    let oldestKept = UInt64(max(1, 3 - historyWindow + 1))
    try check(
        all.entries.map(\.sequence) == Array(oldestKept...3), "history after 0 gave \(all.entries.map(\.sequence))")
    try check(
        all.latest == 3 && all.oldest == oldestKept, "history after 0 said latest \(all.latest), oldest \(all.oldest)")
    let tail = try await backplane.history(of: numbered, after: 2)
    try check(tail.entries.map(\.sequence) == [3], "history after 2 gave \(tail.entries.map(\.sequence))")
    try check(tail.entries.first == all.entries.last, "history gave a different body for the same event")
    for after in [UInt64(3), 1000, .max] {
        let none = try await backplane.history(of: numbered, after: after)
        try check(none.entries.isEmpty && none.latest == 3, "history after \(after) gave \(none.entries.count) events")
    }
    let unknown = try await backplane.history(of: room("never"), after: 0)
    try check(
        unknown.entries.isEmpty && unknown.latest == 0 && unknown.oldest == 1,
        "a room without events has history \(unknown)")

    // The history window: the latest `historyWindow` events are kept, consecutively.
    let windowed = room("window")
    for index in 0..<(historyWindow + 3) { _ = try await backplane.append(event("w\(index)"), to: windowed) }
    let kept = try await backplane.history(of: windowed, after: 0)
    let latest = UInt64(historyWindow + 3)
    try check(
        kept.latest == latest && kept.oldest == latest - UInt64(historyWindow) + 1
            && kept.entries.map(\.sequence) == Array(kept.oldest...latest),
        "after \(latest) events with a window of \(historyWindow), history kept \(kept.entries.map(\.sequence)) "
            + "(oldest \(kept.oldest))")

    // Subscriptions: only what follows, every event once and in order, under concurrent appends.
    let busy = room("busy")
    _ = try await backplane.append(event("before"), to: busy)
    let subscription = try await backplane.subscribe(to: busy)
    let writers = 4
    let each = 25
    let sequences = try await withThrowingTaskGroup(of: [UInt64].self) { group in
        for writer in 0..<writers {
            group.addTask {
                var numbers: [UInt64] = []
                for index in 0..<each {
                    numbers.append(
                        try await backplane.append(event("\(writer)-\(index)", from: UInt64(writer)), to: busy).sequence
                    )
                }
                return numbers
            }
        }
        _ = try await backplane.append(event("elsewhere"), to: numbered)
        return try await group.reduce(into: []) { $0 += $1 }
    }
    let expected = Array(UInt64(2)...UInt64(1 + writers * each))
    try check(
        sequences.sorted() == expected, "\(writers * each) concurrent appends were numbered \(sequences.sorted())")
    let delivered = try await first(writers * each, of: subscription.events, within: .seconds(20))
    try check(
        delivered.map(\.sequence) == expected,
        "the subscription delivered \(delivered.map(\.sequence)), not \(expected.first!)...\(expected.last!) in order")
    let stored = try await backplane.history(of: busy, after: 1)
    let deliveredBodies = Dictionary(uniqueKeysWithValues: delivered.map { ($0.sequence, $0.body) })
    try check(
        stored.entries.allSatisfy { deliveredBodies[$0.sequence] == $0.body },
        "the subscription delivered bodies that differ from history's")
    subscription.cancel()
    var afterCancel = 0
    for await _ in subscription.events { afterCancel += 1 }
    try check(afterCancel == 0, "a cancelled subscription delivered \(afterCancel) more events")

    // Presence.
    let lobby = room("lobby")
    try await backplane.join(1 << 40 | 2, name: "bob", room: lobby)
    try await backplane.join(1, name: "ada", room: lobby)
    try await backplane.join(1, name: "ada2", room: lobby)
    var members = try await backplane.members(of: lobby)
    try check(
        members == [ChatMember(id: 1, name: "ada2"), ChatMember(id: 1 << 40 | 2, name: "bob")],
        "after two joins and a rename, members are \(members)")
    try check(try await backplane.leave(1, room: lobby), "leave of a member said it was not in the room")
    try check(!(try await backplane.leave(1, room: lobby)), "a second leave said it was in the room")
    members = try await backplane.members(of: lobby)
    try check(members == [ChatMember(id: 1 << 40 | 2, name: "bob")], "after a leave, members are \(members)")
    let elsewhere = try await backplane.members(of: room("empty"))
    try check(elsewhere.isEmpty, "a room nobody joined has members \(elsewhere)")

    // Listing rooms: in name order, a page at a time, member counts from presence.
    let listed = room("listed")
    try await backplane.join(3, name: "cy", room: listed)
    try await backplane.join(1 << 40 | 4, name: "di", room: listed)
    var pages: [ChatRoomSummary] = []
    var cursor: String? = room("")
    while let after = cursor, pages.count < 100 {
        let page = try await backplane.rooms(after: after, limit: 2)
        try check(page.rooms.count <= 2, "a page of at most 2 rooms listed \(page.rooms.count)")
        try check(page.rooms.allSatisfy { $0.name > after }, "a page after \(after) listed \(page.rooms.map(\.name))")
        let ours = page.rooms.filter { $0.name.hasPrefix(room("")) }
        pages += ours
        cursor = ours.count == page.rooms.count ? page.next : nil
    }
    let names = pages.map(\.name)
    try check(names == names.sorted() && Set(names).count == names.count, "pages listed rooms \(names)")
    let counts = Dictionary(pages.map { ($0.name, $0.members) }, uniquingKeysWith: { first, _ in first })
    try check(
        counts[lobby] == 1 && counts[listed] == 2,
        "rooms listed \(lobby) with \(counts[lobby].map(String.init) ?? "no entry") and \(listed) with "
            + "\(counts[listed].map(String.init) ?? "no entry") members, not 1 and 2")
}

/// The first `count` elements of `events`; throws if they do not all come within `limit`.
private func first(
    _ count: Int, of events: AsyncStream<ChatBackplaneEntry>, within limit: Duration
) async throws -> [ChatBackplaneEntry] {
    try await withThrowingTaskGroup(of: [ChatBackplaneEntry]?.self) { group in
        group.addTask {
            var received: [ChatBackplaneEntry] = []
            for await entry in events {
                received.append(entry)
                if received.count == count { break }
            }
            return received
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        let received = try await group.next()!
        group.cancelAll()
        guard let received, received.count == count else {
            throw ChatBackplaneContractViolation(
                description: "the subscription delivered \(received?.count ?? 0) of \(count) events within \(limit)")
        }
        return received
    }
}
