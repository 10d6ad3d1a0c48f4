import PostgresNIO

/// Where a PostgreSQL chat store's database is and how much history it keeps: what
/// `ChatStore.connectPostgres(configuration:logger:)` connects with. `Docs/CHAT_STORE.md`
/// describes the store (schema, numbering, presence, retention).
public struct ChatStoreConfiguration: Sendable {
    /// The database server's host name or address.
    public var host: String
    /// The database server's port. Default 5432.
    public var port: Int
    /// The user to log in as; it must be able to create tables (at the first start) and to read
    /// and write them.
    public var username: String
    /// The user's password, if the server asks for one.
    public var password: String?
    /// The database; `nil`: the one named after the user.
    public var database: String?
    /// Connections the store's pool may open for appends and reads (listeners have their own).
    package var maximumConnections = 8
    /// The first wait before a listener reconnects; doubled after each failure.
    package var reconnectDelay: Duration = .milliseconds(100)
    /// The longest wait between a listener's reconnection attempts.
    package var maximumReconnectDelay: Duration = .seconds(5)
    /// Rows a listener reads per query while catching up.
    package var catchUpBatchSize = 500
    /// Events the store keeps per room (the age limit aside); older ones are out of history and
    /// pruned. Keep it well above `ChatLimits.storeReplayLimit` (what a resuming client is
    /// replayed), so that a server that falls behind a busy room catches up from the store.
    /// Default 10,000.
    public var historySize = 10_000
    /// How old a kept event may be; older ones are out of history and pruned. `nil`: no age
    /// limit. Default 7 days.
    public var historyAge: Duration? = .seconds(7 * 24 * 3600)
    /// How often a node deletes what retention no longer keeps (history reads apply retention
    /// exactly in between).
    package var pruneInterval: Duration = .seconds(60)
    /// How often a node records that it is alive and checks for nodes that stopped.
    package var heartbeatInterval: Duration = .seconds(5)
    /// How long a node may go without a heartbeat before a live node drops it (its members leave).
    /// A node that dies drops out of presence within this plus one ``heartbeatInterval``.
    package var nodeTimeout: Duration = .seconds(20)
    /// How long one backplane call may wait for the database before it fails with
    /// ``ChatStoreError`` (the pool alone would queue it while it retries a store that is down).
    /// A call that times out after its statement was sent may still have taken effect.
    package var callTimeout: Duration = .seconds(10)
    /// Undelivered events one subscription holds before it ends (its subscriber reads history).
    package var subscriptionBuffer = 1000

    /// A configuration for the database `database` (`nil`: the user's) on `host:port`, logging
    /// in as `username` (with `password` if the server asks for one), with the defaults.
    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        // A store that is down fails calls after a bounded time instead of queueing them forever.
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    var connectionConfiguration: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
    }
}
