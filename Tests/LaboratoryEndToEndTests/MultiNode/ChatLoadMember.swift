import Foundation
import LaboratoryClient
import LaboratoryProtocol

/// A chat member driven by a test: one session at a time on some node, a recorder that outlives
/// its sessions, and a record of every message it sent: those the server numbered (the reply's
/// sequence), those whose fate it cannot know (the connection died before the reply), and the
/// errors the server answered with.
actor ChatLoadMember {
    let name: String
    let recorder: RoomRecorder
    private(set) var session: ClientSession?
    private(set) var node: ChatNode?
    /// Text → the sequence number the `say` reply gave it.
    private(set) var acknowledged: [String: UInt64] = [:]
    /// Texts sent in the order they were sent (acknowledged ones only).
    private(set) var acknowledgedInOrder: [String] = []
    /// Texts whose reply never came (the session ended with the request in flight).
    private(set) var uncertain: Set<String> = []
    /// Texts the server answered with an error, and the errors.
    private(set) var refused: [(text: String, error: ClientError)] = []
    /// The connection ids this member has had, oldest first.
    private(set) var connectionIDs: [UInt64] = []
    /// Why the last session's request failed, when it ended mid-request.
    private(set) var lastSessionError: ClientError?
    /// The room's latest number as the first join's reply gave it: the member must receive every
    /// event after it.
    private(set) var firstJoinSequence: UInt64?
    private var nextIndex = 0
    /// The shipped reconnecting client, for a member joined with ``joinReconnecting(on:failover:)``.
    private(set) var reconnecting: ReconnectingChatSession?
    /// Its reconnections, in order.
    private(set) var resumptions: [ReconnectingChatSession.Resumption] = []
    /// What it reported lost (`missedHistory`) or refused (`rejoinFailed`), as readable lines.
    private(set) var resumeProblems: [String] = []
    /// Whether its session is over (`ended`).
    private(set) var ended = false
    private var resumptionWaiters: [CheckedContinuation<Void, Never>] = []

    init(name: String, room: String) {
        self.name = name
        recorder = RoomRecorder(room: room)
    }

    var room: String { recorder.room }

    /// Connects to `node` and joins the room; with `resume`, asks for everything after the last
    /// sequence number received (`join` `after`). Returns the join reply.
    @discardableResult
    func join(on node: ChatNode, resume: Bool = false) async throws -> ChatReply {
        let session = try await node.connect(name)
        recorder.follow(session)
        self.session = session
        self.node = node
        connectionIDs.append(session.acceptance.connectionID)
        let reply = try await session.chat(.join(room: room, after: resume ? recorder.lastSequence : nil))
        if firstJoinSequence == nil { firstJoinSequence = reply.sequence }
        return reply
    }

    /// Connects to `node` with the public `ReconnectingChatSession` and joins the room; when the
    /// connection is lost, the session reconnects by itself to `failover` (trusting its key) and
    /// resumes the room after the last number it delivered. Returns the join reply.
    @discardableResult
    func joinReconnecting(on node: ChatNode, failover: ChatNode) async throws -> ChatReply {
        let first = try await node.connect(name)
        var configuration = ReconnectingChatSession.Configuration()
        configuration.policy = ReconnectPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
        let chat = ReconnectingChatSession(session: first, configuration: configuration) { name in
            try await failover.connect(name)
        }
        recorder.follow(chat) { [weak self] update in await self?.observe(update) }
        reconnecting = chat
        self.node = node
        connectionIDs.append(first.acceptance.connectionID)
        let reply = try await chat.join(room)
        if firstJoinSequence == nil { firstJoinSequence = reply.sequence }
        return reply
    }

    private func observe(_ update: ReconnectingChatSession.Update) {
        switch update {
        case .resumed(let resumption):
            resumptions.append(resumption)
            connectionIDs.append(resumption.connectionID)
        case .missedHistory(let room, let from, let to):
            resumeProblems.append("missed \(from)...\(to) of \(room)")
        case .numberingRestarted(let room):
            resumeProblems.append("numbering restarted in \(room)")
        case .rejoinFailed(let room, let error):
            resumeProblems.append("could not rejoin \(room): \(error)")
        case .ended:
            ended = true
        default:
            return
        }
        for waiter in resumptionWaiters { waiter.resume() }
        resumptionWaiters.removeAll()
    }

    /// Returns once the reconnecting session has resumed more than `count` times, or has ended.
    private func waitForResumption(beyond count: Int) async {
        while resumptions.count <= count, !ended {
            await withCheckedContinuation { resumptionWaiters.append($0) }
        }
    }

    /// Says `count` numbered messages one after another. Stops early, returning `false`, when the
    /// session ends (the in-flight message is then uncertain); an error answer is recorded and
    /// the next message follows after `pauseAfterRefusal`.
    /// A member on a `ReconnectingChatSession` goes on after its reconnection instead.
    func say(_ count: Int, pauseAfterRefusal: Duration = .milliseconds(20)) async throws -> Bool {
        let send: (ChatRequest) async throws -> ChatReply
        if let reconnecting {
            send = { try await reconnecting.chat($0) }
        } else if let session {
            send = { try await session.chat($0) }
        } else {
            return false
        }
        for _ in 0..<count {
            let text = "\(name)#\(nextIndex)"
            nextIndex += 1
            let resumedBefore = resumptions.count
            do {
                let reply = try await send(.say(room: room, text: text))
                guard let sequence = reply.sequence else {
                    throw ChatNodeError(description: "say reply without a sequence for \(text)")
                }
                acknowledged[text] = sequence
                acknowledgedInOrder.append(text)
            } catch let error as ClientError where error.code == .requestFailed {
                refused.append((text, error))
                try await Task.sleep(for: pauseAfterRefusal)
            } catch let error as ClientError {
                // The session ended (closed, reset, timed out) with the message in flight.
                lastSessionError = error
                uncertain.insert(text)
                guard reconnecting != nil else { return false }
                // The reconnecting session resumes by itself (or ends).
                await waitForResumption(beyond: resumedBefore)
                if ended { return false }
            }
        }
        return true
    }

    /// Says messages until `acknowledged` holds `count` of them; `false` if the session ended.
    func sayUntilAcknowledged(_ count: Int) async throws -> Bool {
        while acknowledged.count < count {
            guard try await say(1) else { return false }
        }
        return true
    }

    func close() async {
        await session?.close()
        await reconnecting?.close()
    }
}
