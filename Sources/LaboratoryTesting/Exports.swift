// The status a failed test request reports (``ServiceTestError/status``), re-exported so that a
// test can name it with `import LaboratoryTesting` alone. See Docs/ARCHITECTURE.md, "Public API".
@_exported import struct LaboratoryProtocol.ResponseStatus
