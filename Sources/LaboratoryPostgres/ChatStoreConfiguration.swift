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
        return configuration
    }

    var connectionConfiguration: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
    }
}
