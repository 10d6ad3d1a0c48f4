import NIOConcurrencyHelpers
import ServiceLifecycle

/// Where a ``ChatService`` keeps its rooms when several servers share them: each room's
/// numbering, history and presence, in a store every server given the same one reads and writes
/// (one chat over several processes or machines, surviving restarts).
///
/// A store comes from the product that implements it (`LaboratoryPostgres`:
/// `ChatStore.connectPostgres(configuration:logger:)`), already connected, with this server's
/// ``node`` number taken. Then:
/// - set ``ServerConfiguration/nodeNumber`` to ``node``, so that connection ids are
///   node-qualified (a chat service on a store refuses requests from a server that did not);
/// - give it to ``ChatService/init(limits:store:)``;
/// - run it as a ServiceLifecycle service, before the server in the `ServiceGroup`, so that it
///   stops after the server: ``run()`` keeps the store's connections, notifications and heartbeats
///   until graceful shutdown, then stops the chat's background work and leaves the store (the
///   members still recorded on this node leave, with their `left` events).
///
/// A store runs once: its run ends by leaving the store, and what runs it (the database client)
/// cannot run twice. A second ``run()``, on the store or on a copy of it, while the first runs or
/// after it has returned, throws ``ChatStoreRunError`` at once and touches nothing; to join again,
/// connect a new store.
///
/// `Docs/CHAT_STORE.md`, *Embedding*, has a complete example.
public struct ChatStore: Service, Sendable {
    /// This server's number among the servers sharing the store, 1 to 4,095: the value for
    /// ``ServerConfiguration/nodeNumber``.
    public let node: UInt16
    /// The store's rooms, numbering and presence.
    package let backplane: any ChatBackplane
    /// Work the chat service's rooms leave running (departures retried while the store is down),
    /// stopped by ``run()`` before the store is left.
    package let background: ChatBackgroundTasks
    private let body: @Sendable (_ beforeLeaving: @escaping @Sendable () async -> Void) async throws -> Void
    /// Whether ``run()`` has been called, shared by every copy of the store.
    private let started = NIOLockedValueBox(false)

    /// A store on `backplane` for node `node`; `run` runs it until graceful shutdown (or
    /// cancellation) and calls its argument before it leaves the store.
    package init(
        node: UInt16, backplane: any ChatBackplane,
        run: @escaping @Sendable (_ beforeLeaving: @escaping @Sendable () async -> Void) async throws -> Void
    ) {
        self.node = node
        self.backplane = backplane
        self.background = ChatBackgroundTasks()
        self.body = run
    }

    /// Runs the store until graceful shutdown: on it, stops the chat's background work (a
    /// departure being recorded finishes; one waiting to be retried is left to the store, which
    /// records every member still on this node as leaving), leaves the store and returns. When
    /// cancelled instead, returns without leaving: the other servers drop this one once its
    /// heartbeats stop.
    ///
    /// - Throws: ``ChatStoreRunError`` at once, before anything runs, if this store (or a copy of
    ///   it) has been run before; otherwise what the store's run throws.
    public func run() async throws {
        let first = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        guard first else { throw ChatStoreRunError() }
        let background = self.background
        try await body { await background.stop() }
        await background.stop()
    }
}

/// ``ChatStore/run()`` was called on a store that is running or has run: a store runs once (its
/// run ends by leaving the store). Nothing was started; connect a new store to join again.
public struct ChatStoreRunError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Reason: Hashable, Sendable {
        case alreadyRun
    }

    private let reason: Reason

    init() { reason = .alreadyRun }

    /// One line: what happened and what to do.
    public var description: String {
        switch reason {
        case .alreadyRun:
            "the chat store has already been run: a store runs once (put it in one ServiceGroup, once); connect a new store to join again"
        }
    }
}
