import Foundation

/// The admin API's replies as the client reads them, and the tables it prints of them (client
/// text, names and reasons, made harmless for the terminal).
enum AdminTables {
    struct Session: Decodable {
        var id: UInt64
        var name: String
        var address: String?
        var since: String
        var rooms: [String]
        var bytesIn: UInt64
        var bytesOut: UInt64

        enum CodingKeys: String, CodingKey {
            case id, name, address, since, rooms
            case bytesIn = "bytes_in"
            case bytesOut = "bytes_out"
        }
    }

    struct Sessions: Decodable { var sessions: [Session] }

    struct Member: Decodable {
        var id: UInt64
        var name: String
    }

    struct Room: Decodable {
        var name: String
        var members: [Member]
    }

    struct Rooms: Decodable { var rooms: [Room] }
    struct Kicked: Decodable { var kicked: UInt64 }

    struct Ban: Codable {
        var address: String
        var seconds: Double
    }

    struct Bans: Decodable { var bans: [Ban] }

    struct Done: Decodable { var message: String }

    static func render(_ reply: Bans) -> String {
        guard !reply.bans.isEmpty else { return "No bans.\n" }
        let rows = reply.bans.map { [EventText.clean($0.address), "\(Int($0.seconds.rounded(.up)))s"] }
        return table(["ADDRESS", "LEFT"], rows, rightAligned: [1])
    }

    static func render(_ reply: Sessions) -> String {
        guard !reply.sessions.isEmpty else { return "No sessions.\n" }
        let rows = reply.sessions.map { session in
            [
                "\(session.id)", EventText.clean(session.name), session.address ?? "-", session.since,
                session.rooms.isEmpty ? "-" : session.rooms.map(EventText.clean).joined(separator: ","),
                "\(session.bytesIn)", "\(session.bytesOut)",
            ]
        }
        return table(["ID", "NAME", "ADDRESS", "SINCE", "ROOMS", "IN", "OUT"], rows, rightAligned: [0, 5, 6])
    }

    static func render(_ reply: Rooms) -> String {
        guard !reply.rooms.isEmpty else { return "No rooms with members.\n" }
        let rows = reply.rooms.map { room in
            [
                EventText.clean(room.name), "\(room.members.count)",
                room.members.map { "\(EventText.clean($0.name)) (\($0.id))" }.joined(separator: ", "),
            ]
        }
        return table(["ROOM", "MEMBERS", "WHO"], rows, rightAligned: [1])
    }

    /// Columns padded to their widest cell (in characters), two spaces apart.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int>) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                if column == row.count - 1 && !rightAligned.contains(column) { return row[column] }
                return rightAligned.contains(column) ? padding + row[column] : row[column] + padding
            }
            .joined(separator: "  ")
        }
        .joined(separator: "\n") + "\n"
    }

    /// `90`, `90s`, `15m`, `2h`, `7d` in seconds; `nil` unless positive and at most 30 days.
    static func seconds(parsing text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let factor = units[last] {
            number = number.dropLast()
            unit = factor
        }
        guard let value = Double(number), value.isFinite, value > 0, value * unit <= 30 * 86_400 else { return nil }
        return value * unit
    }

    /// `3600` as `1h`, `90` as `90s`.
    static func describe(seconds: Double) -> String {
        for (unit, size) in [("d", 86_400.0), ("h", 3600), ("m", 60)]
        where seconds >= size && seconds.truncatingRemainder(dividingBy: size) == 0 {
            return "\(Int(seconds / size))\(unit)"
        }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
