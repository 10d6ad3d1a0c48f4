/// Returns every request body unchanged.
public struct EchoService: LaboratoryService {
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
}
