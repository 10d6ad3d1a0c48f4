// The protocol's value types that the server's public API hands to users (close reasons, pushed
// events) and the host key type of its configuration, re-exported one by one: `import Laboratory`
// brings these names and nothing else from the lower modules. See Docs/ARCHITECTURE.md, "Public API".
@_exported import class LaboratoryCrypto.RSAPrivateKey
@_exported import class LaboratoryCrypto.RSAPublicKey
@_exported import struct LaboratoryProtocol.CloseReason
@_exported import enum LaboratoryProtocol.LaboratoryVersion
@_exported import struct LaboratoryProtocol.ServiceEvent
