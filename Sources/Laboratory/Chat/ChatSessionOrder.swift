import NIOConcurrencyHelpers

/// Lets each session's chat requests run one at a time, in the order they reached the service,
/// so that pipelined requests take effect in the order the client sent them (two `say`s get
/// consecutive sequence numbers in that order). Sessions do not wait for each other.
///
/// The server calls the service for each request before it reads the next frame, and the chat
/// service takes its place in line before its first suspension; waiting for the turn comes after.
final class ChatSessionOrder: Sendable {
    private struct Line {
        /// The next place to hand out.
        var issued: UInt64 = 0
        /// The place whose request may run now.
        var serving: UInt64 = 0
        /// Requests waiting for their turn, by place.
        var waiting: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    /// One line per session with requests in progress; removed when its last request leaves.
    private let lines = NIOLockedValueBox<[UInt64: Line]>([:])

    /// Takes the session's next place in line. Call it before the request's first suspension.
    func enter(_ connectionID: UInt64) -> UInt64 {
        lines.withLockedValue { lines in
            var line = lines[connectionID] ?? Line()
            defer {
                line.issued += 1
                lines[connectionID] = line
            }
            return line.issued
        }
    }

    /// Returns when every request of the session that entered earlier has left.
    nonisolated(nonsending) func waitForTurn(_ connectionID: UInt64, place: UInt64) async {
        if lines.withLockedValue({ $0[connectionID]?.serving == place }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = lines.withLockedValue { lines in
                if lines[connectionID]?.serving == place { return true }
                lines[connectionID]?.waiting[place] = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Leaves the line, letting the session's next request run.
    func leave(_ connectionID: UInt64) {
        let next = lines.withLockedValue { lines -> CheckedContinuation<Void, Never>? in
            guard var line = lines[connectionID] else { return nil }
            line.serving += 1
            if line.serving == line.issued {
                lines[connectionID] = nil
                return nil
            }
            let next = line.waiting.removeValue(forKey: line.serving)
            lines[connectionID] = line
            return next
        }
        next?.resume()
    }
}
