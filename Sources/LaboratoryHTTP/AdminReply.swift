import Foundation
import Hummingbird

/// The admin API's JSON bodies (snake_case keys, see Docs/HTTP.md, "Admin API"), and how they and
/// its errors (`{"error": "…"}`) become responses.
enum AdminReply {
    struct Session: Codable, Equatable {
        var id: UInt64
        var name: String
        var address: String?
        /// When the session was accepted, ISO 8601 in UTC.
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

    struct Sessions: Codable { var sessions: [Session] }

    struct Member: Codable, Equatable {
        var id: UInt64
        var name: String
    }

    struct Room: Codable, Equatable {
        var name: String
        var members: [Member]
    }

    struct Rooms: Codable { var rooms: [Room] }

    struct Kick: Codable { var reason: String? }
    struct Kicked: Codable { var kicked: UInt64 }

    struct Ban: Codable, Equatable {
        var address: String
        var seconds: Double
    }

    struct Bans: Codable { var bans: [Ban] }

    struct Done: Codable {
        var ok = true
        var message: String
    }

    struct Failure: Codable { var error: String }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"could not encode the reply"}"#.utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: .init(bytes: data + Data("\n".utf8))))
    }

    static func error(_ message: String, _ status: HTTPResponse.Status, retryAfter: Duration? = nil) -> Response {
        var response = json(Failure(error: message), status: status)
        if let retryAfter {
            // Whole seconds, rounded up: a client that waits that long is let in.
            let seconds = Int(
                (Double(retryAfter.components.seconds) + Double(retryAfter.components.attoseconds) / 1e18)
                    .rounded(.up))
            response.headers[.retryAfter] = "\(max(1, seconds))"
        }
        if status == .unauthorized { response.headers[.wwwAuthenticate] = #"Bearer realm="laboratory-admin""# }
        return response
    }
}
