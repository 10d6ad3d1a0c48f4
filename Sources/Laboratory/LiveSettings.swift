import LaboratoryCrypto
import LaboratoryProtocol
import NIOConcurrencyHelpers

/// What a running ``LaboratoryServer`` can change without a restart: the password and the
/// admission limits and penalties.
///
/// Read the server's with ``LaboratoryServer/liveSettings``, change what you need and apply it
/// with ``LaboratoryServer/reload(_:)``. Sessions already accepted are never dropped: a new
/// password is asked of connections accepted from then on, and lower limits refuse newcomers
/// until the counts fall below them, closing nothing.
public struct LiveSettings: Sendable, Equatable {
    /// Who may connect: connection caps, early drop of unfinished handshakes, per-source limits,
    /// penalties and the addresses exempt from them.
    public var admission: AdmissionPolicy
    /// The SHA-256 of the password new connections must give.
    package private(set) var passwordDigest: [UInt8]

    /// The live part of `configuration`: its password and its admission policy.
    public init(configuration: ServerConfiguration) {
        self.admission = configuration.admission
        self.passwordDigest = configuration.passwordDigest
    }

    /// Sets the password that connections accepted from now on must give.
    ///
    /// - Throws: ``ConfigurationError`` if the password is empty, too long or the well-known
    ///   default `PASSWORD` (as ``ServerConfiguration/init(hostKey:password:)`` does).
    public mutating func setPassword(_ password: String) throws {
        try ServerConfiguration.validate(password: password)
        passwordDigest = SHA256.hash(Array(password.utf8))
    }

    /// What differs from `old`, one entry a setting (`"admission.maximumConnections 16384 -> 100"`,
    /// `"password"`): values are shown, except the password's. Empty when nothing changed.
    package func changes(from old: LiveSettings) -> [String] {
        var changes: [String] = []
        if passwordDigest != old.passwordDigest { changes.append("password") }
        func compare<Value: Equatable>(_ name: String, _ path: KeyPath<AdmissionPolicy, Value>) {
            let (before, after) = (old.admission[keyPath: path], admission[keyPath: path])
            if before != after { changes.append("admission.\(name) \(Self.shown(before)) -> \(Self.shown(after))") }
        }
        compare("maximumConnections", \.maximumConnections)
        compare("maxStartups", \.maxStartups)
        compare("maximumUnauthenticatedPerSource", \.maximumUnauthenticatedPerSource)
        compare("maximumUnauthenticatedPerNetwork", \.maximumUnauthenticatedPerNetwork)
        compare("penalties.isEnabled", \.penalties.isEnabled)
        compare("penalties.wrongPassword", \.penalties.wrongPassword)
        compare("penalties.handshakeTimeout", \.penalties.handshakeTimeout)
        compare("penalties.protocolViolation", \.penalties.protocolViolation)
        compare("penalties.unauthenticatedDisconnect", \.penalties.unauthenticatedDisconnect)
        compare("penalties.perSecondUnfinished", \.penalties.perSecondUnfinished)
        compare("penalties.threshold", \.penalties.threshold)
        compare("penalties.maximum", \.penalties.maximum)
        compare("penalties.maximumTrackedSources", \.penalties.maximumTrackedSources)
        compare("penalties.exempt", \.penalties.exempt)
        compare("penalties.wrongPasswordDelay", \.penalties.wrongPasswordDelay)
        return changes
    }

    private static func shown(_ value: some Equatable) -> String {
        switch value {
        case let startups as MaxStartups: "\(startups.start):\(startups.rate):\(startups.full)"
        case let duration as Duration: duration.logged
        case let list as [String]: "[\(list.joined(separator: ","))]"
        default: "\(value)"
        }
    }
}

/// The server's ``LiveSettings`` behind a lock: each new connection reads them once, as it starts.
final class LiveSettingsBox: Sendable {
    private let settings: NIOLockedValueBox<LiveSettings>
    private let admission: Admission

    init(_ settings: LiveSettings, admission: Admission) {
        self.settings = NIOLockedValueBox(settings)
        self.admission = admission
    }

    /// The settings in force.
    var current: LiveSettings { settings.withLockedValue { $0 } }

    /// Puts `new` in force (the admission policy too, under the same lock, so two reloads never
    /// leave a mix of both) and returns the settings it replaced.
    func replace(with new: LiveSettings) -> LiveSettings {
        settings.withLockedValue { settings in
            let old = settings
            settings = new
            admission.update(policy: new.admission)
            return old
        }
    }
}
