import NIOCore

/// Returns every request body unchanged.
///
/// A ``LaboratoryImmediateService``: answered on the event loop that read the request when the
/// session has nothing else in flight, and the body it returns is the request's, still in the
/// buffer its frame was opened into, so the server seals it from there without a copy.
public struct EchoService: LaboratoryImmediateService {
    /// The name ``ServiceRegistry/standard`` registers it under.
    public static let defaultName = "echo"

    /// Creates the service.
    public init() {}

    /// Returns `body`.
    public nonisolated(nonsending) func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws
        -> [UInt8]
    {
        body
    }

    /// Returns `body`.
    public nonisolated(nonsending) func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws
        -> ByteBuffer
    {
        body
    }

    /// Returns `body`.
    public func handleImmediately(_ body: ByteBuffer, context: LaboratoryServiceContext) throws -> ByteBuffer {
        body
    }
}
