import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One HTTP/1.1 exchange over a fresh loopback TCP connection (`Connection: close`), read to the
/// end: enough for the HTTP listener's tests without an HTTP client library.
package struct PlainHTTPResponse: Sendable {
    /// The status code from the status line.
    package let status: Int
    /// The header fields, names lowercased, in order.
    package let headers: [(name: String, value: String)]
    /// The body as text (the listener's bodies are UTF-8).
    package let body: String

    /// The first value of the header `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        headers.first { $0.name == name.lowercased() }?.value
    }
}

/// Sends `method path` to `127.0.0.1:port` with `headers` and `body`, and returns the response;
/// from the loopback address `source` (such as an ``AttackSource`` address) if given; over TLS
/// with `tls` (a client configuration) if given.
package func plainHTTPRequest(
    _ path: String, method: String = "GET", port: Int, headers: [(String, String)] = [], body: String = "",
    from source: String? = nil, tls: TLSConfiguration? = nil
) async throws -> PlainHTTPResponse {
    let tlsContext = try tls.map { try NIOSSLContext(configuration: $0) }
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    if !body.isEmpty || method != "GET" { request += "Content-Length: \(body.utf8.count)\r\n" }
    request += "\r\n" + body
    var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
    let channel =
        try await bootstrap
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tlsContext {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tlsContext, serverHostname: nil))
                }
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    let raw = try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: request))
        var received = ByteBuffer()
        do {
            for try await var chunk in inbound { received.writeBuffer(&chunk) }
        } catch NIOSSLError.uncleanShutdown where !received.readableBytesView.isEmpty {
            // A server that closes after `Connection: close` without TLS's close_notify: the
            // response is complete all the same.
        }
        return String(buffer: received)
    }
    return try PlainHTTPResponse(parsing: raw)
}

extension PlainHTTPResponse {
    struct Malformed: Error, CustomStringConvertible {
        let raw: String
        var description: String { "not an HTTP response: \(raw.prefix(200).debugDescription)" }
    }

    init(parsing raw: String) throws {
        guard let headEnd = raw.range(of: "\r\n\r\n") else { throw Malformed(raw: raw) }
        let lines = raw[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        let statusFields = lines[0].split(separator: " ", maxSplits: 2)
        guard statusFields.count >= 2, statusFields[0].hasPrefix("HTTP/1."), let status = Int(statusFields[1]) else {
            throw Malformed(raw: raw)
        }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        var body = String(raw[headEnd.upperBound...])
        if headers.contains(where: { $0.name == "transfer-encoding" && $0.value.lowercased() == "chunked" }) {
            body = Self.dechunk(body)
        }
        self.init(status: status, headers: headers, body: body)
    }

    /// The body of a chunked response without its chunk sizes.
    private static func dechunk(_ chunked: String) -> String {
        var rest = Substring(chunked)
        var body = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let utf8 = rest.utf8
            guard let end = utf8.index(start, offsetBy: size, limitedBy: utf8.endIndex) else { break }
            body += String(rest[start..<end])
            rest = rest[end...].dropFirst(2)
        }
        return body
    }
}
