import Testing

/// The adversarial scenarios that run the server in this process. They run one at a time (each
/// floods a server, and two floods at once on a small machine would measure each other), while the
/// rest of the suite runs beside them. Those against the `laboratory-server` executable are in
/// `LaboratoryEndToEndTests`, in a suite of the same name.
@Suite("Adversarial", .serialized)
enum Adversarial {}
