import Foundation

/// A `known_hosts` path in a new temporary folder that does not exist yet (the file creates it).
package func temporaryKnownHostsPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("known-hosts-\(UUID().uuidString)/known_hosts").path
}
