import Foundation
import Hummingbird
import Laboratory
import LaboratoryProtocol
import Logging

/// The admin API under `/admin/…` (see ``AdminConfiguration``), every route behind ``AdminGate``:
///
/// - `GET /admin/sessions`: the accepted sessions (id, name, address, since, rooms, bytes in/out).
/// - `GET /admin/rooms`: the chat rooms with members, and their members.
/// - `POST /admin/sessions/{id}/kick` `{"reason": "…"}`: ends the session with close code 17
///   (kicked) and the reason; 404 if there is no such session.
/// - `GET /admin/bans`, `POST /admin/bans` `{"address": "10.0.0.0/8", "seconds": 600}`: refuses
///   new connections from an address or CIDR block on every listener until the ban expires.
/// - `POST /admin/reload`, `POST /admin/drain`: the embedder's hooks.
///
/// Errors are `{"error": "…"}`: 400 for a malformed body, 401 for a missing or wrong token, 403
/// (banned) or 429 (locked out) with `Retry-After`, 404 for an unknown session, 501 for a hook the
/// embedder did not give.
enum AdminRoutes {
    /// The largest request body read: the bodies are a few fields.
    static let maximumBodySize = 16 * 1024
    /// The longest kick reason, in bytes of UTF-8: it travels in one `closing` message.
    static let maximumReasonSize = 512
    /// The longest ban: 30 days.
    static let maximumBanSeconds = 30.0 * 86_400

    static func add(
        to router: Router<HTTPRequestContext>, admin: AdminConfiguration, context: LaboratoryListenerContext
    ) {
        let gate = AdminGate(token: admin.token, context: context)
        router.get("admin/sessions") { request, requestContext in
            await gate.guarded(request, requestContext) {
                AdminReply.json(AdminReply.Sessions(sessions: await sessions(context)))
            }
        }
        router.get("admin/rooms") { request, requestContext in
            await gate.guarded(request, requestContext) {
                AdminReply.json(AdminReply.Rooms(rooms: await rooms(context)))
            }
        }
        router.post("admin/sessions/:id/kick") { request, requestContext in
            var request = request
            let body = await readBody(&request)
            return await gate.guarded(request, requestContext) {
                guard let id = requestContext.parameters.get("id", as: UInt64.self) else {
                    return AdminReply.error("the session id must be a number", .badRequest)
                }
                let kick: AdminReply.Kick
                switch decode(AdminReply.Kick.self, body, allowEmpty: true) {
                case .failure(let failure): return failure.response
                case .success(let decoded): kick = decoded ?? AdminReply.Kick()
                }
                let reason = kick.reason ?? "removed by the server's operator"
                guard reason.utf8.count <= maximumReasonSize else {
                    return AdminReply.error("the reason is longer than \(maximumReasonSize) bytes", .badRequest)
                }
                guard context.sessions.close(id, reason: CloseReason(.kicked, reason)) else {
                    return AdminReply.error("no session \(id)", .notFound)
                }
                context.logger.notice("session kicked", metadata: ["connection": "\(id)", "reason": .client(reason)])
                return AdminReply.json(AdminReply.Kicked(kicked: id))
            }
        }
        router.get("admin/bans") { request, requestContext in
            await gate.guarded(request, requestContext) {
                let bans = context.bans.map { AdminReply.Ban(address: $0.pattern, seconds: seconds($0.remaining)) }
                return AdminReply.json(AdminReply.Bans(bans: bans))
            }
        }
        router.post("admin/bans") { request, requestContext in
            var request = request
            let body = await readBody(&request)
            return await gate.guarded(request, requestContext) {
                let ban: AdminReply.Ban
                switch decode(AdminReply.Ban.self, body, allowEmpty: false) {
                case .failure(let failure): return failure.response
                case .success(let decoded): ban = decoded!
                }
                guard ban.seconds > 0, ban.seconds <= maximumBanSeconds else {
                    return AdminReply.error(
                        "seconds must be more than 0 and at most \(Int(maximumBanSeconds)) (30 days)", .badRequest)
                }
                guard context.ban(ban.address, for: .milliseconds(Int64(ban.seconds * 1000))) else {
                    return AdminReply.error(
                        "\(ban.address) is neither an IP address nor a CIDR block (or the ban list is full)",
                        .badRequest)
                }
                return AdminReply.json(ban, status: .created)
            }
        }
        router.post("admin/reload") { request, requestContext in
            await gate.guarded(request, requestContext) {
                guard let onReload = admin.onReload else {
                    return AdminReply.error("this server cannot reload its configuration", .notImplemented)
                }
                do {
                    try await onReload()
                } catch {
                    return AdminReply.error("the reload failed: \(error)", .internalServerError)
                }
                context.logger.notice("configuration reloaded through the admin API")
                return AdminReply.json(AdminReply.Done(message: "configuration reloaded"))
            }
        }
        router.post("admin/drain") { request, requestContext in
            await gate.guarded(request, requestContext) {
                guard let onDrain = admin.onDrain else {
                    return AdminReply.error("this server cannot drain through the admin API", .notImplemented)
                }
                context.logger.notice("drain requested through the admin API")
                // In a task of its own: the drain ends this listener too, and the answer goes first.
                Task { await onDrain() }
                return AdminReply.json(
                    AdminReply.Done(message: "draining: sessions are told and closed after the grace period"),
                    status: .accepted)
            }
        }
    }

    /// The sessions, each with the chat rooms it is in.
    static func sessions(_ context: LaboratoryListenerContext) async -> [AdminReply.Session] {
        var roomsOf: [UInt64: [String]] = [:]
        for (room, members) in await membership(context) {
            for id in members { roomsOf[id, default: []].append(room) }
        }
        let format = Date.ISO8601FormatStyle()
        return context.sessions.sessions.map { session in
            AdminReply.Session(
                id: session.id, name: session.displayName, address: session.remoteAddress,
                since: session.since.formatted(format), rooms: (roomsOf[session.id] ?? []).sorted(),
                bytesIn: session.bytesIn, bytesOut: session.bytesOut)
        }
    }

    /// The rooms with members, by name, each member with its display name.
    static func rooms(_ context: LaboratoryListenerContext) async -> [AdminReply.Room] {
        let names = Dictionary(context.sessions.sessions.map { ($0.id, $0.displayName) }) { first, _ in first }
        return await membership(context).sorted { $0.key < $1.key }.map { room, members in
            AdminReply.Room(
                name: room, members: members.map { AdminReply.Member(id: $0, name: names[$0] ?? "") })
        }
    }

    /// Every chat service's rooms (a server may register more than one), merged by room name.
    private static func membership(_ context: LaboratoryListenerContext) async -> [String: [UInt64]] {
        var merged: [String: [UInt64]] = [:]
        for name in context.services.names {
            guard let chat = context.services.service(named: name) as? ChatService else { continue }
            for (room, members) in await chat.membership { merged[room, default: []] += members }
        }
        return merged
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// A body read before the gate (an unread body would stall the connection), or why not.
    private static func readBody(_ request: inout Request) async -> Result<ByteBuffer, BodyFailure> {
        do {
            return .success(try await request.collectBody(upTo: maximumBodySize))
        } catch {
            return .failure(
                BodyFailure(
                    response: AdminReply.error(
                        "the body is larger than \(maximumBodySize) bytes or could not be read", .contentTooLarge)))
        }
    }

    struct BodyFailure: Error {
        let response: Response
    }

    /// Decodes `body` as `T`; an empty body is `nil` when allowed.
    private static func decode<T: Decodable>(
        _ type: T.Type, _ body: Result<ByteBuffer, BodyFailure>, allowEmpty: Bool
    ) -> Result<T?, BodyFailure> {
        let buffer: ByteBuffer
        switch body {
        case .failure(let failure): return .failure(failure)
        case .success(let read): buffer = read
        }
        if buffer.readableBytes == 0 {
            if allowEmpty { return .success(nil) }
            return .failure(
                BodyFailure(response: AdminReply.error("the body is empty; send a JSON object", .badRequest)))
        }
        do {
            return .success(try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)))
        } catch {
            return .failure(
                BodyFailure(response: AdminReply.error("malformed JSON body: \(describe(error))", .badRequest)))
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type for \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        default: "not a JSON object of the expected shape"
        }
    }
}
