import CoreMetrics
import LaboratoryProtocol
import NIOConcurrencyHelpers

/// Every metric one server reports, made once from its configuration's factory (see
/// ``ServerConfiguration/metricsFactory``) and shared by its connections, admission, transport
/// keys and chat rooms. Names and labels follow the Prometheus conventions: a `laboratory_`
/// prefix, `_total` on counters, units in the name (`_seconds`, `_bytes`). The list with meanings
/// is in Docs/HTTP.md.
///
/// Metric objects are made here, not where they are updated: a hot path (a frame, a request)
/// only increments one it already holds. Labelled families whose label values are not known in
/// advance (close reasons) make each series once, on its first use, and keep it.
package final class ServerMetrics: Sendable {
    // Connections (every listener's, counted at admission).
    package let connectionsOpened: Counter
    package let connectionsOpen: Meter
    private let refusals: Family<Counter>
    // Handshakes and sessions (the TCP listener's connections).
    private let handshakes: Family<Counter>
    private let handshakeDurations: Family<Timer>
    package let sessionsOpen: Meter
    private let sessionsEnded: Family<Counter>
    package let slowConsumerDisconnects: Counter
    // Requests by service and status.
    private let requestsByService: [String: ServiceRequestMetrics]
    private let unknownServiceRequests: ServiceRequestMetrics
    // Traffic.
    package let receivedBytes: Counter
    package let sentBytes: Counter
    // Penalties.
    private let penalties: Family<Counter>
    package let lockouts: Counter
    // Transport keys.
    package let transportKeyRotations: Counter
    // Chat.
    package let chatRooms: Meter
    package let chatMembers: Meter
    package let chatDeliveries: Counter

    /// The label value of requests for a service the server does not offer (service names are
    /// client text: only registered names become label values).
    package static let unknownService = "(unknown)"

    /// Metrics made with `factory` for a server offering `services`.
    package init(factory: any MetricsFactory, services: [String]) {
        connectionsOpened = Counter(label: "laboratory_connections_opened_total", factory: factory)
        connectionsOpen = Meter(label: "laboratory_connections_open", factory: factory)
        // The common series exist from the start (at zero), so that a scraper sees every family
        // and a rate over them starts at the first scrape.
        refusals = Family(AdmissionRefusal.allCases.map(\.rawValue)) {
            Counter(label: "laboratory_connections_refused_total", dimensions: [("reason", $0)], factory: factory)
        }
        handshakes = Family(["accepted", "wrong_password", "handshake_timeout", "protocol_violation", "peer_closed"]) {
            Counter(label: "laboratory_handshakes_total", dimensions: [("outcome", $0)], factory: factory)
        }
        handshakeDurations = Family(["accepted"]) {
            Timer(label: "laboratory_handshake_duration_seconds", dimensions: [("outcome", $0)], factory: factory)
        }
        sessionsOpen = Meter(label: "laboratory_sessions_open", factory: factory)
        sessionsEnded = Family(["normal", "peer_closed", "idle_timeout", "slow_consumer", "server_stopping"]) {
            Counter(label: "laboratory_sessions_ended_total", dimensions: [("reason", $0)], factory: factory)
        }
        slowConsumerDisconnects = Counter(label: "laboratory_slow_consumer_disconnects_total", factory: factory)
        var requestsByService: [String: ServiceRequestMetrics] = [:]
        for service in services {
            requestsByService[service] = ServiceRequestMetrics(service: service, factory: factory)
        }
        self.requestsByService = requestsByService
        unknownServiceRequests = ServiceRequestMetrics(service: Self.unknownService, factory: factory)
        receivedBytes = Counter(label: "laboratory_received_bytes_total", factory: factory)
        sentBytes = Counter(label: "laboratory_sent_bytes_total", factory: factory)
        penalties = Family(["wrong_password", "handshake_timeout", "protocol_violation", "peer_closed"]) {
            Counter(label: "laboratory_penalties_total", dimensions: [("reason", $0)], factory: factory)
        }
        lockouts = Counter(label: "laboratory_lockouts_total", factory: factory)
        transportKeyRotations = Counter(label: "laboratory_transport_key_rotations_total", factory: factory)
        chatRooms = Meter(label: "laboratory_chat_rooms", factory: factory)
        chatMembers = Meter(label: "laboratory_chat_members", factory: factory)
        chatDeliveries = Counter(label: "laboratory_chat_deliveries_total", factory: factory)
    }

    /// Metrics that go nowhere: for parts built without a server (unit tests, test kits).
    package static let disabled = ServerMetrics(factory: NOOPMetricsHandler.instance, services: [])

    /// A connection was refused at accept, for `reason` (see ``AdmissionRefusal``).
    package func connectionRefused(_ reason: AdmissionRefusal) { refusals[reason.rawValue].increment() }

    /// A handshake ended after `duration`: accepted (`reason` is `nil`) or closed for `reason`.
    package func handshakeEnded(closing reason: CloseReason?, after duration: Duration) {
        let outcome = reason.map { $0.code.metricLabel } ?? "accepted"
        handshakes[outcome].increment()
        handshakeDurations[outcome].recordNanoseconds(duration.nanoseconds)
    }

    /// An accepted session ended for `reason`.
    package func sessionEnded(_ reason: CloseReason) {
        sessionsOpen.decrement()
        sessionsEnded[reason.code.metricLabel].increment()
        if reason.code == .slowConsumer { slowConsumerDisconnects.increment() }
    }

    /// A request to `service` was answered with `status` after `duration`.
    package func requestAnswered(service: String, status: ResponseStatus, after duration: Duration) {
        let metrics = requestsByService[service] ?? unknownServiceRequests
        metrics.answered(status, after: duration)
    }

    /// A source was charged a penalty for ending a connection for `reason`.
    package func penalized(for reason: CloseReason) { penalties[reason.code.metricLabel].increment() }
}

/// One service's request metrics, made when the server starts: a counter per response status and
/// a latency histogram.
private struct ServiceRequestMetrics: Sendable {
    let byStatus: [Counter]
    let duration: Timer

    init(service: String, factory: any MetricsFactory) {
        byStatus = ResponseStatus.metricLabels.map { status in
            Counter(
                label: "laboratory_requests_total", dimensions: [("service", service), ("status", status)],
                factory: factory)
        }
        duration = Timer(
            label: "laboratory_request_duration_seconds", dimensions: [("service", service)], factory: factory)
    }

    func answered(_ status: ResponseStatus, after duration: Duration) {
        byStatus[status.metricIndex].increment()
        self.duration.recordNanoseconds(duration.nanoseconds)
    }
}

/// A labelled metric family whose series are made on first use and kept (the label values are a
/// small closed set, such as close codes, but not all listed in advance).
private final class Family<Metric: Sendable>: Sendable {
    private let series: NIOLockedValueBox<[String: Metric]>
    private let make: @Sendable (String) -> Metric

    /// A family whose series for `labels` are made at once, the others on first use.
    init(_ labels: [String], _ make: @escaping @Sendable (String) -> Metric) {
        self.make = make
        var series: [String: Metric] = [:]
        for label in labels { series[label] = make(label) }
        self.series = NIOLockedValueBox(series)
    }

    subscript(_ label: String) -> Metric {
        series.withLockedValue { series in
            if let metric = series[label] { return metric }
            let metric = make(label)
            series[label] = metric
            return metric
        }
    }
}

/// Why admission refused a connection, as the `reason` label of
/// `laboratory_connections_refused_total`.
package enum AdmissionRefusal: String, CaseIterable, Sendable {
    /// The source is locked out by its penalties.
    case lockedOut = "locked_out"
    /// The server holds its maximum number of connections.
    case serverFull = "server_full"
    /// The address holds its maximum number of unfinished handshakes.
    case addressUnfinished = "address_unfinished"
    /// The network holds its maximum number of unfinished handshakes.
    case networkUnfinished = "network_unfinished"
    /// Too many unfinished handshakes overall (the early random drop, or no one to evict).
    case busy
    /// The operator banned the address or its block (the admin API).
    case banned
}

extension CloseReason.Code {
    /// The code as a label value: its description in snake case (`wrong_password`), or its number
    /// for a code this version does not know.
    /// Worked out once per code and kept: every handshake and session that ends asks for it, and
    /// building it from the description each time cost about 13 k instructions (a sixtieth of a
    /// handshake's non-RSA work under callgrind).
    package var metricLabel: String {
        if let label = Self.knownMetricLabels[rawValue] { return label }
        return Self.metricLabel(describing: self)
    }

    /// The labels of the codes this version knows (their descriptions have no digits).
    private static let knownMetricLabels: [UInt16: String] = {
        var labels: [UInt16: String] = [:]
        for rawValue in UInt16(0)...64 {
            let label = metricLabel(describing: Self(rawValue: rawValue))
            if label != String(rawValue) { labels[rawValue] = label }
        }
        return labels
    }()

    private static func metricLabel(describing code: Self) -> String {
        let words = code.description
        guard words.allSatisfy({ $0.isLetter || $0 == " " }) else { return String(code.rawValue) }
        return words.replacingOccurrences(of: " ", with: "_")
    }
}

extension ResponseStatus {
    /// Every status's label value, in ``metricIndex`` order.
    fileprivate static let metricLabels = [
        "ok", "unknown_service", "service_error", "rejected", "internal_error", "other",
    ]

    /// The status's index in ``metricLabels``.
    fileprivate var metricIndex: Int {
        switch self {
        case .ok: 0
        case .unknownService: 1
        case .serviceError: 2
        case .rejected: 3
        case .internalError: 4
        default: 5
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating; durations here are far below 292 years).
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
