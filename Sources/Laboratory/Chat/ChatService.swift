import Foundation
import LaboratoryProtocol
import Logging

/// The built-in chat service, registered as `"chat"`: rooms created on first join, messages
/// numbered per room, presence events, history with resume, direct messages.
///
/// Requests and replies are JSON (`ChatRequest`, `ChatReply`); events are `ChatEvent`.
/// Each room is its own actor, so rooms never wait on each other; one session's requests take
/// effect in the order it sent them, even when pipelined; pushes go through each
/// session's bounded outbound queue, so a slow member is disconnected instead of slowing a room.
public struct ChatService: LaboratoryService {
    /// The name ``ServiceRegistry/standard`` registers it under.
    public static let defaultName = "chat"

    private let limits: ChatLimits
    /// Encodes direct messages; a `JSONEncoder` whose options never change may be shared.
    private static let encoder = JSONEncoder()
    private let directory: ChatDirectory
    private let order = ChatSessionOrder()

    /// Creates a chat service; every server (or test) should have its own. Its rooms live in
    /// this process's memory (an `InMemoryChatBackplane` of its own, called synchronously: the
    /// fast path).
    public init(limits: ChatLimits = ChatLimits()) {
        let backplane = InMemoryChatBackplane(historySize: limits.historySize, forgottenRoomLimit: limits.maximumRooms)
        self.limits = limits
        self.backplane = backplane
        self.shared = nil
        self.node = nil
        self.directory = ChatDirectory(
            limits: limits, forgetting: { backplane.forget($0) },
            makeRoom: { name, serviceName, metrics in
                ChatRoom(
                    log: backplane.room(name), serviceName: serviceName, pageSize: limits.maximumPageSize,
                    metrics: metrics)
            })
    }

    /// Creates a chat service whose rooms live in `store`, which the chat services of other
    /// servers (in other processes, on other machines) may share: all of them then form one chat,
    /// whose numbering, history and presence survive restarts. Every room event goes through the
    /// store; `rooms` and `who` list what it records for every server; `direct` reaches only
    /// sessions on this server.
    ///
    /// The server's ``ServerConfiguration/nodeNumber`` must be the store's ``ChatStore/node``
    /// (each server sharing a store has its own), so that connection ids never collide; requests
    /// from a server configured otherwise are refused with an error that says so. A `join` with
    /// `after` replays at most ``ChatLimits/storeReplayLimit`` events; ``ChatLimits/historySize``
    /// does not apply (the store keeps its own count per room).
    public init(limits: ChatLimits = ChatLimits(), store: ChatStore) {
        self.init(limits: limits, backplane: store.backplane, background: store.background, node: store.node)
    }

    /// Creates a chat service whose rooms live in `backplane` (see ``init(limits:store:)``), for
    /// tests: no node check, background work of its own.
    package init(limits: ChatLimits, backplane: any ChatBackplane) {
        self.init(limits: limits, backplane: backplane, background: ChatBackgroundTasks(), node: nil)
    }

    private init(limits: ChatLimits, backplane: any ChatBackplane, background: ChatBackgroundTasks, node: UInt16?) {
        self.limits = limits
        self.backplane = backplane
        self.shared = backplane
        self.node = node
        self.directory = ChatDirectory(
            limits: limits, forgetting: { _ in },
            makeRoom: { name, serviceName, metrics in
                SharedChatRoom(
                    name: name, backplane: backplane, background: background, serviceName: serviceName,
                    pageSize: limits.maximumPageSize, replayLimit: limits.storeReplayLimit, metrics: metrics)
            })
    }

    /// Where the rooms' numbering, history and presence are kept.
    package let backplane: any ChatBackplane
    /// The backplane when the rooms are shared (``init(limits:backplane:)``); `nil` on the fast path.
    private let shared: (any ChatBackplane)?
    /// The store's node number that this server's connection ids must carry (``init(limits:store:)``).
    private let node: UInt16?

    /// The sizes of the service's internal tables, for tests that check they stay bounded.
    package var bookkeeping: ChatBookkeeping {
        get async { await directory.bookkeeping }
    }

    /// Every room with members now, with its members' connection ids in ascending order (the
    /// admin API's room list). This server's sessions only, also when the rooms are shared.
    package var membership: [String: [UInt64]] {
        get async { await directory.membership() }
    }

    /// Handles one chat request. One session's requests take effect one at a time, in the order
    /// they arrived (see `ChatSessionOrder`); different sessions' requests run concurrently.
    public nonisolated(nonsending) func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws
        -> [UInt8]
    {
        let connectionID = context.session.connectionID
        if let node, connectionID >> ConnectionIDSource.localBits != UInt64(node) {
            throw ServiceError(
                "chat is unavailable on this server: its nodeNumber is not its chat store's node \(node) "
                    + "(set ServerConfiguration.nodeNumber to ChatStore.node)")
        }
        let place = order.enter(connectionID)
        defer { order.leave(connectionID) }
        await order.waitForTurn(connectionID, place: place)
        let request: ChatRequest
        do {
            request = try ChatRequest(strictJSON: body)
        } catch {
            throw ServiceError("not a chat request: \(error); see Docs/PROTOCOL.md, section Chat")
        }
        let session = context.session
        try await directory.admit(context.events, request.kind)
        let reply: ChatReply
        switch request {
        case .join(let name, let after):
            try limits.validate(room: name)
            let (room, added) = try await directory.join(
                session.connectionID, sink: context.events, room: name, serviceName: context.serviceName,
                metrics: context.metrics)
            do {
                reply = try await room.join(session, sink: context.events, after: after)
            } catch {
                if added { await directory.recordLeave(session.connectionID, room: name) }
                throw error
            }
            context.logger.record(.joinedRoom(room: name, name: session.displayName))
        case .leave(let name):
            try limits.validate(room: name)
            let room = try await directory.room(name)
            let left: Bool
            do {
                left = try await room.leave(session)
            } catch {
                // A shared room has let the member go here already; it tells the others later.
                await directory.recordLeave(session.connectionID, room: name)
                throw error
            }
            guard left else { throw ServiceError("you are not in room \"\(name)\"") }
            await directory.recordLeave(session.connectionID, room: name)
            context.logger.record(.leftRoom(room: name, name: session.displayName))
            reply = ChatReply()
        case .rooms(let after, let limit):
            let pageSize = try limits.pageSize(limit)
            let page: (rooms: [ChatRoomSummary], next: String?)
            if let shared {
                do {
                    page = try await shared.rooms(after: after, limit: pageSize)
                } catch {
                    throw SharedChatRoom.unavailable(error)
                }
            } else {
                page = await directory.page(after: after, limit: pageSize)
            }
            reply = ChatReply(rooms: page.rooms, next: page.next)
        case .who(let name, let after, let limit):
            try limits.validate(room: name)
            let pageSize = try limits.pageSize(limit)
            let cursor: UInt64?
            if let after {
                guard let id = UInt64(after) else {
                    throw ServiceError("\"after\" is not a cursor from a who reply: \(after.prefix(32))")
                }
                cursor = id
            } else {
                cursor = nil
            }
            let page: (members: [ChatMember], next: String?)
            if let shared {
                // Any room on any node: presence is the backplane's.
                do {
                    page = SharedChatRoom.page(try await shared.members(of: name), after: cursor, limit: pageSize)
                } catch {
                    throw SharedChatRoom.unavailable(error)
                }
            } else {
                page = try await (try await directory.room(name)).memberPage(after: cursor, limit: pageSize)
            }
            reply = ChatReply(members: page.members, next: page.next)
        case .say(let name, let text):
            try limits.validate(room: name)
            try limits.validate(text: text)
            let room = try await directory.room(name)
            reply = ChatReply(sequence: try await room.say(text, from: session))
        case .direct(let recipient, let text):
            // Node-local: only sessions on this server are reached, also when rooms are shared.
            try limits.validate(text: text)
            guard let sink = await directory.sink(for: recipient) else {
                throw ServiceError("connection \(recipient) is not on chat")
            }
            let event = ChatEvent(
                kind: .direct, room: nil, sequence: nil, from: session.connectionID, name: session.displayName,
                text: text, time: Int64(Date().timeIntervalSince1970 * 1000))
            guard sink.push(ServiceEvent(service: context.serviceName, body: Array(try Self.encoder.encode(event))))
            else {
                throw ServiceError("connection \(recipient) has left")
            }
            context.metrics.chatDeliveries.increment()
            reply = ChatReply()
        }
        return try reply.jsonBody()
    }

    public func sessionDidEnd(_ session: SessionIdentity) async {
        // A shared room that cannot tell the store now retries in the background.
        for room in await directory.forget(session.connectionID) { _ = try? await room.leave(session) }
    }

    public func sessionDidRename(_ session: SessionIdentity, from oldName: String) async {
        for room in await directory.roomsOf(session.connectionID) { await room.rename(session, from: oldName) }
    }
}

extension ChatRequest {
    /// The request budget this request draws on (``ChatLimits/listingRate``,
    /// ``ChatLimits/membershipRate``, ``ChatLimits/deliveryRate``).
    fileprivate var kind: ChatDirectory.RequestKind {
        switch self {
        case .rooms, .who: .listing
        case .join, .leave: .membership
        case .say(let room, _): .delivery(room: room)
        case .direct: .delivery(room: nil)
        }
    }
}
