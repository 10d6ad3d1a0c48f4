import Laboratory

/// A listener whose failure to bind names the address and the option that chose it, so that the
/// one line `laboratory-server` ends with says which of its ports could not be opened.
struct AddressedListener<Base: LaboratoryListener>: LaboratoryListener {
    typealias Bound = Base.Bound

    let base: Base
    /// The option that set the port, such as `--legacy-port`.
    let option: String
    /// `HOST:PORT` as configured.
    let address: String

    func bind(context: LaboratoryListenerContext) async throws -> Bound {
        do {
            return try await base.bind(context: context)
        } catch {
            throw ListenerBindError(option: option, address: address, underlying: error)
        }
    }

    func run(_ bound: Bound, context: LaboratoryListenerContext) async throws {
        try await base.run(bound, context: context)
    }
}
