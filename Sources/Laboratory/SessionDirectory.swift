import Foundation
import LaboratoryProtocol
import NIOConcurrencyHelpers
import Synchronization

/// Bytes one session has received and sent, frames with their length prefixes, counted as they
/// pass (read by the admin API's session list while the session runs).
package final class SessionCounters: Sendable {
    private let received = Atomic<UInt64>(0)
    private let sent = Atomic<UInt64>(0)

    package init() {}

    /// Bytes read from the peer so far.
    package var bytesIn: UInt64 { received.load(ordering: .relaxed) }
    /// Bytes handed to the socket for the peer so far.
    package var bytesOut: UInt64 { sent.load(ordering: .relaxed) }

    package func didReceive(_ count: Int) { received.add(UInt64(count), ordering: .relaxed) }
    package func didSend(_ count: Int) { sent.add(UInt64(count), ordering: .relaxed) }
}

/// One accepted session as the operator sees it.
package struct SessionSummary: Sendable, Hashable {
    /// The connection id (unique across listeners for the server's lifetime).
    package var id: UInt64
    package var displayName: String
    /// `address:port` of the peer, if known.
    package var remoteAddress: String?
    /// When the session was accepted (wall-clock time).
    package var since: Date
    package var bytesIn: UInt64
    package var bytesOut: UInt64
}

/// The accepted sessions of one server, of every listener: who is connected, since when, with
/// their byte counters, and how to end each one (the admin API's list and kick). A session enters
/// at acceptance and leaves when it ends.
package final class SessionDirectory: Sendable {
    private struct Entry {
        var summary: SessionSummary
        let counters: SessionCounters
        let close: @Sendable (CloseReason) -> Void
    }

    private let entries = NIOLockedValueBox<[UInt64: Entry]>([:])

    package init() {}

    /// Records an accepted session; `close` ends it with a reason (from any thread).
    package func add(
        id: UInt64, displayName: String, remoteAddress: String?, counters: SessionCounters,
        close: @escaping @Sendable (CloseReason) -> Void
    ) {
        let summary = SessionSummary(
            id: id, displayName: displayName, remoteAddress: remoteAddress, since: Date(), bytesIn: 0, bytesOut: 0)
        entries.withLockedValue { $0[id] = Entry(summary: summary, counters: counters, close: close) }
    }

    /// The session `id` is now called `displayName`.
    package func rename(_ id: UInt64, to displayName: String) {
        entries.withLockedValue { $0[id]?.summary.displayName = displayName }
    }

    /// The session `id` has ended.
    package func remove(_ id: UInt64) {
        _ = entries.withLockedValue { $0.removeValue(forKey: id) }
    }

    /// Every session now, by id, with its current byte counts.
    package var sessions: [SessionSummary] {
        entries.withLockedValue { entries in
            entries.values.map { entry in
                var summary = entry.summary
                summary.bytesIn = entry.counters.bytesIn
                summary.bytesOut = entry.counters.bytesOut
                return summary
            }
        }
        .sorted { $0.id < $1.id }
    }

    /// Ends the session `id` with `reason` (it receives the reason in a `closing` message);
    /// returns false if there is no such session.
    package func close(_ id: UInt64, reason: CloseReason) -> Bool {
        guard let close = entries.withLockedValue({ $0[id]?.close }) else { return false }
        close(reason)
        return true
    }
}
