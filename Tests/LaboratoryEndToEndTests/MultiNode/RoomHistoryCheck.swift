import LaboratoryProtocol

/// What every member of a room must agree on, checked from what each one received: the failures,
/// as readable lines (empty when all holds).
enum RoomHistoryCheck {
    /// A member's events were numbered one after another with no gap and no repeat, across its
    /// reconnections (a resuming `join` replays exactly what it missed).
    static func gapFree(_ name: String, _ events: [ChatEvent]) -> [String] {
        var problems: [String] = []
        for (previous, next) in zip(events, events.dropFirst()) {
            guard let a = previous.sequence, let b = next.sequence else {
                problems.append("\(name): an event without a sequence number")
                continue
            }
            if b != a + 1 { problems.append("\(name): \(a) is followed by \(b)") }
            if problems.count > 5 { break }
        }
        return problems
    }

    /// Every member saw the same event under the same number: one order for the room, whatever
    /// node each member is on.
    static func identicalOrder(_ members: [(name: String, events: [ChatEvent])]) -> [String] {
        var reference: [UInt64: (name: String, event: ChatEvent)] = [:]
        var problems: [String] = []
        for (name, events) in members {
            for event in events {
                guard let sequence = event.sequence else { continue }
                if let seen = reference[sequence] {
                    if !sameEvent(seen.event, event) {
                        problems.append(
                            "sequence \(sequence): \(seen.name) saw \(describe(seen.event)), \(name) saw \(describe(event))"
                        )
                    }
                } else {
                    reference[sequence] = (name, event)
                }
                if problems.count > 5 { return problems }
            }
        }
        return problems
    }

    /// Each acknowledged message is in `events` exactly once, under the number its `say` reply
    /// gave; each uncertain one (sent, no reply) at most once; nothing else from `sender` with its
    /// texts. `events` must cover the acknowledged numbers (check ``gapFree(_:_:)`` too).
    static func delivered(
        to name: String, _ events: [ChatEvent], acknowledged: [String: UInt64], uncertain: Set<String>,
        refused: Set<String>, senderPrefix: String
    ) -> [String] {
        var counts: [String: Int] = [:]
        var sequences: [String: UInt64] = [:]
        for event in events where event.kind == .message {
            guard let text = event.text, text.hasPrefix(senderPrefix) else { continue }
            counts[text, default: 0] += 1
            sequences[text] = event.sequence
        }
        var problems: [String] = []
        for (text, sequence) in acknowledged.sorted(by: { $0.value < $1.value }) {
            let count = counts[text] ?? 0
            if count != 1 {
                problems.append("\(name) received acknowledged \(text) (sequence \(sequence)) \(count) times")
            } else if sequences[text] != sequence {
                problems.append("\(name) received \(text) as \(sequences[text] ?? 0), its reply said \(sequence)")
            }
            if problems.count > 5 { return problems }
        }
        for text in uncertain where (counts[text] ?? 0) > 1 {
            problems.append("\(name) received uncertain \(text) \(counts[text] ?? 0) times")
        }
        for text in refused where (counts[text] ?? 0) > 1 {
            problems.append("\(name) received refused \(text) \(counts[text] ?? 0) times")
        }
        for text in counts.keys where acknowledged[text] == nil && !uncertain.contains(text) && !refused.contains(text)
        {
            problems.append("\(name) received \(text), which was never sent")
        }
        return problems
    }

    /// Two copies of one stored event. `time` is the storing node's clock, so it is compared too.
    private static func sameEvent(_ a: ChatEvent, _ b: ChatEvent) -> Bool {
        a.kind == b.kind && a.from == b.from && a.name == b.name && a.text == b.text && a.oldName == b.oldName
            && a.time == b.time
    }

    private static func describe(_ event: ChatEvent) -> String {
        "\(event.kind.rawValue) from \(event.from) \(event.text.map { "\"\($0)\"" } ?? "")"
    }
}
