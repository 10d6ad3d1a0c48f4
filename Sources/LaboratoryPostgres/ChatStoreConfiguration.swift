import PostgresNIO

/// Where the chat store's database is and how the store uses it.
package struct ChatStoreConfiguration: Sendable {
    package var host: String
    package var port: Int
    package var username: String
    package var password: String?
    package var database: String?
    /// Connections the store's pool may open for appends and reads (listeners have their own).
    package var maximumConnections = 8
    /// The first wait before a listener reconnects; doubled after each failure.
    package var reconnectDelay: Duration = .milliseconds(100)
    /// The longest wait between a listener's reconnection attempts.
    package var maximumReconnectDelay: Duration = .seconds(5)
    /// Rows a listener reads per query while catching up.
    package var catchUpBatchSize = 500
    /// Events the backplane keeps per room (``PostgresChatBackplane``): `ChatLimits.historySize`.
    package var historySize = 100
    /// How old a kept event may be; older ones are out of history and pruned. `nil`: no age limit.
    package var historyAge: Duration? = .seconds(7 * 24 * 3600)
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

    package init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String? = nil) {
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
