import Laboratory
import LaboratoryProtocol
import NIOConcurrencyHelpers

/// An extra listener that accepts nothing and only keeps the server's session directory, so that a
/// test can end a session as the admin API's kick does (code 17, the operator's reason) without
/// the HTTP listener.
package final class SessionTap: LaboratoryListener {
    private let directory = NIOLockedValueBox<SessionDirectory?>(nil)

    package init() {}

    package func bind(context: LaboratoryListenerContext) async throws {
        directory.withLockedValue { $0 = context.sessions }
    }

    package func run(_ bound: Void, context: LaboratoryListenerContext) async throws {}

    /// Kicks the session `id` with `reason`; false if there is no such session.
    package func kick(_ id: UInt64, reason: String) -> Bool {
        directory.withLockedValue { $0 }?.close(id, reason: CloseReason(.kicked, reason)) ?? false
    }
}
