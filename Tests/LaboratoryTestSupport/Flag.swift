import Synchronization

/// A flag set once, from any thread.
package final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    package init() {}

    package func set() { value.store(true, ordering: .relaxed) }

    package var isSet: Bool { value.load(ordering: .relaxed) }
}
