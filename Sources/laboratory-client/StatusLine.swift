/// The line above the prompt on a terminal: who you are, the current room and its member count,
/// and the latest round trip to the server (measured with the protocol's ping).
struct StatusLine: Equatable, Sendable {
    /// Your display name.
    var name: String
    /// Your connection id.
    var id: UInt64
    /// The current room, if any, and how many members it has (when known).
    var room: (name: String, members: Int?)?
    /// The latest round trip, if one was measured.
    var latency: Duration?

    static func == (lhs: StatusLine, rhs: StatusLine) -> Bool {
        lhs.name == rhs.name && lhs.id == rhs.id && lhs.room?.name == rhs.room?.name
            && lhs.room?.members == rhs.room?.members && lhs.latency == rhs.latency
    }

    /// `ada #3 · lobby · 2 members · 0.42 ms`.
    var text: String {
        var parts = ["\(EventText.clean(name)) #\(id)"]
        if let room {
            parts.append(EventText.clean(room.name))
            if let members = room.members { parts.append(members == 1 ? "1 member" : "\(members) members") }
        } else {
            parts.append("no room")
        }
        parts.append(latency.map { Self.milliseconds($0) } ?? "ping …")
        return parts.joined(separator: " · ")
    }

    /// A round trip in milliseconds with two decimals: `0.42 ms`.
    static func milliseconds(_ duration: Duration) -> String {
        let milliseconds = duration.fractionalSeconds * 1000
        return "\((milliseconds * 100).rounded() / 100) ms"
    }
}
