import Foundation
import NIOCore
import NIOPosix

/// The admin API's address: `http://HOST:PORT` (an optional path prefix, for a reverse proxy).
struct AdminURL: CustomStringConvertible {
    /// The port `--url` defaults to: `laboratory-server --http-port 12801`.
    static let defaultPort = 12801
    static let `default` = "http://127.0.0.1:\(defaultPort)"

    var host: String
    var port: Int
    var prefix: String

    init(parsing text: String) throws(CommandFailure) {
        let usage = "\"\(text)\" is not an admin URL; use http://HOST:PORT, for example \(Self.default)"
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw CommandFailure(usage, status: .usage)
        }
        guard components.scheme == "http" else {
            throw CommandFailure(
                "\(text): only http:// is supported (the admin API listens on loopback; reach a remote one "
                    + "through an SSH tunnel)", status: .usage)
        }
        let port = components.port ?? 80
        guard (1...65535).contains(port) else { throw CommandFailure(usage, status: .usage) }
        self.host = host
        self.port = port
        self.prefix = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
    }

    var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(prefix)" }
}

/// One HTTP/1.1 exchange with the admin API over a fresh connection (`Connection: close`), read to
/// the end: a few lines of raw HTTP on NIO instead of an HTTP client library.
struct AdminHTTPResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }
}

enum AdminHTTP {
    /// The most response read: the session list of a busy server fits many times over.
    static let maximumResponseSize = 64 << 20
    static let timeout: Duration = .seconds(30)

    /// Sends `method path` with the bearer `token` and a JSON `body`; throws a ``CommandFailure``
    /// if the server cannot be reached or does not answer HTTP.
    static func exchange(
        _ method: String, _ path: String, url: AdminURL, token: String, body: [UInt8]? = nil
    ) async throws -> AdminHTTPResponse {
        var head = "\(method) \(url.prefix)\(path) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\n"
        head += "Authorization: Bearer \(token)\r\nAccept: application/json\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + (body ?? [])
        let raw: [UInt8]
        do {
            raw = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask { try await send(request, to: url) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let raw = first else {
                    throw CommandFailure(
                        "\(url) did not answer within \(timeout.components.seconds) s", status: .temporaryFailure)
                }
                return raw
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch let error as NIOConnectionError {
            let refused = error.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            throw CommandFailure(
                refused
                    ? "\(url) refused the connection; is laboratory-server running with --http-port \(url.port)?"
                    : "cannot reach \(url): \(error)", status: error.connectionErrors.isEmpty ? .noHost : .unavailable)
        } catch {
            throw CommandFailure("cannot reach \(url): \(error)", status: .unavailable)
        }
        guard let response = parse(raw) else {
            throw CommandFailure(
                "\(url) did not answer with HTTP; is it the admin API's address?", status: .protocolError)
        }
        return response
    }

    private static func send(_ request: [UInt8], to url: AdminURL) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var received: [UInt8] = []
            for try await chunk in inbound {
                received += chunk.readableBytesView
                guard received.count <= maximumResponseSize else { break }
            }
            return received
        }
    }

    /// Parses a complete response; `nil` if it is not HTTP/1.x.
    static func parse(_ raw: [UInt8]) -> AdminHTTPResponse? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = raw.firstRange(of: separator) else { return nil }
        let lines = String(decoding: raw[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusFields = lines[0].split(separator: " ", maxSplits: 2)
        guard statusFields.count >= 2, statusFields[0].hasPrefix("HTTP/1."), let status = Int(statusFields[1]) else {
            return nil
        }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(raw[headEnd.upperBound...])
        if headers.contains(where: { $0.name == "transfer-encoding" && $0.value.lowercased().contains("chunked") }) {
            body = dechunk(body)
        }
        return AdminHTTPResponse(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ chunked: [UInt8]) -> [UInt8] {
        var rest = chunked[...]
        var body: [UInt8] = []
        let lineEnd: [UInt8] = Array("\r\n".utf8)
        while let end = rest.firstRange(of: lineEnd),
            let size = Int(String(decoding: rest[..<end.lowerBound], as: UTF8.self).prefix { $0 != ";" }, radix: 16),
            size > 0, end.upperBound + size <= rest.endIndex
        {
            body += rest[end.upperBound..<end.upperBound + size]
            rest = rest[(end.upperBound + size)...].dropFirst(2)
        }
        return body
    }
}
