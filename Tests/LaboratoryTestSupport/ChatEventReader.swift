import Laboratory
import LaboratoryClient

/// Collects chat events from a session until a condition holds.
package struct ChatEventReader {
    private var iterator: AsyncStream<ClientEvent>.AsyncIterator

    package init(_ session: ClientSession) { iterator = session.events.makeAsyncIterator() }

    /// Reads chat events until `count` of them satisfy `isWanted`; returns those, in order.
    package mutating func collect(_ count: Int, where isWanted: (ChatEvent) -> Bool) async -> [ChatEvent] {
        var wanted: [ChatEvent] = []
        while wanted.count < count, let event = await iterator.next() {
            if case .service(let serviceEvent) = event, let chat = ChatEvent(serviceEvent), isWanted(chat) {
                wanted.append(chat)
            }
        }
        return wanted
    }
}
