// Users of the server library need the key type for configuration and the protocol's value types
// (close reasons, events) in service code, without importing the lower modules themselves.
@_exported import LaboratoryCrypto
@_exported import LaboratoryProtocol
