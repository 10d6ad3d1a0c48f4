/// The version of this package, the one place it is written: `laboratory-server --version`,
/// `laboratory --version` and the example host print it.
public enum LaboratoryVersion {
    /// The package's version, `MAJOR.MINOR.PATCH`.
    public static let current = "0.1.0"
}
