import DequeModule
import Foundation
import LaboratoryProtocol

/// How a ``SharedChatRoom`` follows its room in the backplane and delivers to its members: the
/// subscription, the cursors, filling gaps from history, and departures recorded late.
extension SharedChatRoom {
    // MARK: Following the room

    /// Starts the subscription task, unless it runs.
    func startFollowing() {
        guard follower == nil else { return }
        generation += 1
        let generation = generation
        follower = Task { await self.follow(generation) }
        watchdog = Task { await self.watch(generation) }
    }

    /// Stops following once the room has no members here and no join under way: the next join
    /// starts afresh from its own `joined`.
    func stopFollowingIfIdle() {
        guard members.isEmpty, joining == 0, follower != nil else { return }
        follower?.cancel()
        watchdog?.cancel()
        watchdog = nil
        subscription?.cancel()
        follower = nil
        subscription = nil
        generation += 1
        frontier = nil
        recent.removeAll()
        ahead.removeAll()
    }

    /// Subscribes, reads history from the frontier (what was appended while not subscribed), then
    /// delivers what the subscription brings; subscribes again when it ends or fails, waiting a
    /// little longer after each failure.
    func follow(_ generation: UInt64) async {
        var delay = Duration.milliseconds(50)
        while !Task.isCancelled, generation == self.generation {
            do {
                let subscription = try await backplane.subscribe(to: name)
                guard !Task.isCancelled, generation == self.generation else {
                    subscription.cancel()
                    return
                }
                self.subscription = subscription
                try await fill()
                delay = .milliseconds(50)
                for await entry in subscription.events {
                    guard generation == self.generation else { break }
                    if receive(entry) { try await fill() }
                }
                subscription.cancel()
                if Task.isCancelled || generation != self.generation { return }
                logger.debug("chat subscription ended; subscribing again", metadata: ["room": "\(name)"])
            } catch {
                if Task.isCancelled || generation != self.generation { return }
                self.subscription?.cancel()
                self.subscription = nil
                logger.warning(
                    "chat store unavailable: following the room", metadata: ["room": "\(name)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// Reads history once each time the room falls quiet after events (no new event for
    /// ``quietCheck``): a notification lost without a later one to reveal the gap (the last of a
    /// burst) is found then. A quiet room costs nothing; a busy one a read per quiet spell.
    func watch(_ generation: UInt64) async {
        var seen = frontier
        var moved = false
        while !Task.isCancelled, generation == self.generation {
            try? await Task.sleep(for: Self.quietCheck)
            guard !Task.isCancelled, generation == self.generation else { return }
            if frontier != seen {
                seen = frontier
                moved = true
            } else if moved {
                moved = false
                do { try await fill() } catch { continue }
                seen = frontier
            }
        }
    }

    /// How long without events makes a room quiet (see ``watch(_:)``).
    static let quietCheck = Duration.milliseconds(500)

    /// Takes in an event of the room, from the subscription, an append or history, and delivers
    /// what is now consecutive. Returns whether a gap waits to be filled.
    @discardableResult
    func receive(_ entry: ChatBackplaneEntry) -> Bool {
        // Before the first join has its number, everything is held: the join starts from it.
        guard var frontier, entry.sequence <= frontier + 1 else {
            if ahead.count < Self.aheadLimit { ahead[entry.sequence] = entry }
            return frontier != nil
        }
        if entry.sequence <= frontier { return waitsForGap(after: frontier) }
        var fresh: [Held] = []
        var next: ChatBackplaneEntry? = entry
        while let entry = next {
            fresh.append(
                Held(
                    sequence: entry.sequence, event: ServiceEvent(service: serviceName, body: entry.body),
                    isMessage: Self.isMessage(entry)))
            frontier = entry.sequence
            next = ahead.removeValue(forKey: frontier + 1)
        }
        recent.append(contentsOf: fresh)
        if recent.count > Self.recentLimit { recent.removeFirst(recent.count - Self.recentLimit) }
        self.frontier = frontier
        var delivered = 0
        for (id, member) in members {
            // Members up to date get what just came (most of the time, all of them).
            delivered += member.cursor + 1 == fresh[0].sequence ? push(fresh, to: member, id) : deliver(member, id)
        }
        if delivered > 0 { metrics.chatDeliveries.increment(by: delivered) }
        return waitsForGap(after: frontier)
    }

    /// Whether events are held beyond a gap after `frontier`, dropping those it has passed.
    func waitsForGap(after frontier: UInt64) -> Bool {
        if ahead.isEmpty { return false }
        ahead = ahead.filter { $0.key > frontier }
        return !ahead.isEmpty
    }

    /// Pushes to member `id` the held events after its cursor, in order. Returns how many
    /// messages it pushed (for the caller to count).
    @discardableResult
    func deliver(_ member: Member, _ id: UInt64) -> Int {
        guard let frontier, member.cursor < frontier, let first = recent.first?.sequence, member.cursor + 1 >= first
        else { return 0 }
        return push(recent[Int(member.cursor + 1 - first)...], to: member, id)
    }

    /// Pushes `events` (the ones after its cursor, consecutive) to member `id`; a member whose
    /// session refuses one is removed and its departure recorded. Returns the messages pushed.
    func push(_ events: some Sequence<Held>, to member: Member, _ id: UInt64) -> Int {
        var delivered = 0
        for held in events {
            guard member.sink.push(held.event) else {
                members[id] = nil
                departLater(id, name: member.name)
                return delivered
            }
            member.cursor = held.sequence
            if held.isMessage { delivered += 1 }
        }
        return delivered
    }

    /// Returns once member `id` has been pushed every event up to `target` (or is gone), reading
    /// history when the room or the member is behind.
    func catchUp(_ id: UInt64, through target: UInt64) async throws {
        var fruitless = 0
        while let member = members[id], member.cursor < target {
            if let frontier, frontier >= target {
                metrics.chatDeliveries.increment(by: deliver(member, id))
                if let after = members[id]?.cursor, after < target { try await readHistory(for: id, after: after) }
            } else {
                let before = frontier
                try await fill()
                // A history without the event that was appended (it cannot be, but a store might).
                fruitless = frontier == before ? fruitless + 1 : 0
                if fruitless > 2 {
                    throw ServiceError("chat store unavailable: its history of room \"\(name)\" lacks event \(target)")
                }
            }
        }
    }

    /// Reads the room's history from the frontier and takes it in; shared by everyone waiting.
    func fill() async throws {
        if filling == nil {
            // Cleared by the task itself, on this actor, the moment it ends: a caller that finds
            // a task here always waits for a read that has not finished yet.
            filling = Task {
                defer { filling = nil }
                try await readHistory()
            }
        }
        try await filling!.value
    }

    func readHistory() async throws {
        guard let from = frontier else { return }
        let history = try await store { try await backplane.history(of: name, after: from) }
        guard let frontier else { return }
        // Events the store no longer keeps: lost here, and said so in the log.
        let first = history.entries.first?.sequence ?? history.latest + 1
        if first > frontier + 1, history.latest > frontier {
            logger.warning(
                "chat events lost on this server: it fell behind the store's window",
                metadata: ["room": "\(name)", "from": "\(frontier + 1)", "to": "\(first - 1)"])
            skip(to: first - 1)
        }
        for entry in history.entries { receive(entry) }
    }

    /// Starts following from `sequence`: every event after it will be received here.
    func start(at sequence: UInt64) {
        frontier = sequence
        recent.removeAll()
        ahead = ahead.filter { $0.key > sequence }
    }

    /// Moves the frontier and every member's cursor to `sequence` (events before it are lost).
    func skip(to sequence: UInt64) {
        start(at: sequence)
        for member in members.values where member.cursor < sequence { member.cursor = sequence }
    }

    /// Reads the history after member `id`'s cursor and pushes what follows it (a member further
    /// behind than the recent events held here: a join that took long).
    func readHistory(for id: UInt64, after cursor: UInt64) async throws {
        let history = try await store { try await backplane.history(of: name, after: cursor) }
        guard let member = members[id], member.cursor == cursor else { return }
        if let first = history.entries.first?.sequence, first > cursor + 1 { member.cursor = first - 1 }
        for entry in history.entries where entry.sequence == member.cursor + 1 && entry.sequence <= frontier ?? 0 {
            guard member.sink.push(ServiceEvent(service: serviceName, body: entry.body)) else {
                members[id] = nil
                departLater(id, name: member.name)
                return
            }
            member.cursor = entry.sequence
        }
        if member.cursor == cursor, let frontier {
            // Nothing the member lacks is kept any more: lost to it, and said so in the log.
            logger.warning(
                "chat events lost for a member: it fell behind the store's window",
                metadata: ["room": "\(name)", "connection": "\(id)", "from": "\(cursor + 1)", "to": "\(frontier)"])
            member.cursor = frontier
        }
    }

    // MARK: Departures

    /// Records in the backplane that `id` left: presence first, then its `left` event.
    func recordDeparture(_ id: UInt64, name memberName: String) async throws {
        _ = try await backplane.leave(id, room: name)
        let session = SessionIdentity(connectionID: id, remoteAddress: nil, displayName: memberName)
        if receive(try await backplane.append(event(.left, from: session), to: name)) { try? await fill() }
    }

    /// Records `id`'s departure in the background, retrying while the store fails (for about a
    /// minute), unless it joins again meanwhile. The store's stop ends the retries (see
    /// ``ChatStore/run()``): a departure not recorded by then is the store's to record, as this
    /// node leaves it with its remaining members.
    func departLater(_ id: UInt64, name memberName: String) {
        guard departing.insert(id).inserted else { return }
        let started = background.start { await self.depart(id, name: memberName) }
        if !started { departing.remove(id) }
    }

    func depart(_ id: UInt64, name memberName: String) async {
        defer {
            departing.remove(id)
            stopFollowingIfIdle()
        }
        let done = await retrying(attempts: 40) { () async throws -> Bool in
            // Joined again meanwhile: nothing to record.
            guard members[id] == nil, departing.contains(id) else { return false }
            // A try under way when the store stops finishes (presence without its `left` would be
            // recorded half), in a task of its own that the stop's cancellation does not reach.
            try await Task { try await self.recordDeparture(id, name: memberName) }.value
            return true
        }
        if done == nil {
            if Task.isCancelled {
                logger.info(
                    "chat store stopping: a departure is left to the store",
                    metadata: ["room": "\(name)", "connection": "\(id)"])
            } else {
                logger.error(
                    "chat store unavailable: a departure could not be recorded",
                    metadata: ["room": "\(name)", "connection": "\(id)"])
            }
        }
    }
}
