import NIOCore

/// A service that answers each request at once, without suspending: the server may call it on
/// the connection's event loop as the request's frame is read, so that the request and its
/// response never leave that thread.
///
/// An accepted TCP session whose reader has no request in flight has its requests for an
/// immediate service opened, answered, sealed and queued for writing by the event loop that read
/// them, without handing the frame to the connection's task and the response back (at one
/// connection those two hand-offs are most of a small request's latency). Anything else the
/// session sends, and every request while another is in flight, goes to the connection's task as
/// before, in order: a service is still called for request *n* before frame *n + 1* is read.
///
/// The price is the event loop's time: while ``handleImmediately(_:context:)`` runs, no other
/// connection on that loop is read or written. Conform only a service whose answer costs about
/// what sealing it does (``EchoService``, a lookup in memory), never one that blocks, waits for
/// a lock others hold long, or computes for long; those belong in a ``LaboratoryByteBufferService``,
/// which runs on the connection's task.
///
/// ```swift
/// import Laboratory
/// import NIOCore
///
/// struct UppercaseService: LaboratoryImmediateService {
///     func handleImmediately(_ body: ByteBuffer, context: LaboratoryServiceContext) throws -> ByteBuffer {
///         ByteBuffer(bytes: body.readableBytesView.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 })
///     }
/// }
/// ```
///
/// Errors are answered as from any service: a ``ServiceError`` with its message, anything else as
/// an internal error that is logged.
public protocol LaboratoryImmediateService: LaboratoryByteBufferService {
    /// Handles one request at once and returns the response body. May run on an event loop: it
    /// must not block.
    ///
    /// `body` is a slice of the buffer its frame was opened into, as for
    /// ``LaboratoryByteBufferService/handle(_:context:)``.
    func handleImmediately(_ body: ByteBuffer, context: LaboratoryServiceContext) throws -> ByteBuffer
}

extension LaboratoryImmediateService {
    /// Calls ``handleImmediately(_:context:)``: the form the server uses when the request reaches
    /// the connection's task (another request is in flight, or the session is not a TCP one).
    public nonisolated(nonsending) func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws
        -> ByteBuffer
    {
        try handleImmediately(body, context: context)
    }
}
