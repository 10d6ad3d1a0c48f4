// The protocol's value types that the server's public API hands to users (close reasons, pushed
// events) and the host key type of its configuration, re-exported one by one: `import Laboratory`
// brings these names and nothing else from the lower modules. See Docs/ARCHITECTURE.md, "Public API".
//
// `IdentityLegacyTransform`, `LegacyCodec`, `LegacyMessageSplitter` and `LegacyTransform` keep the
// prototype's compatibility path (`LegacyConfiguration`) as public as it was until it moves to its
// own module (issue 13, section 4); those four lines go with it.
@_exported import class LaboratoryCrypto.RSAPrivateKey
@_exported import class LaboratoryCrypto.RSAPublicKey
@_exported import struct LaboratoryProtocol.CloseReason
@_exported import struct LaboratoryProtocol.IdentityLegacyTransform
@_exported import protocol LaboratoryProtocol.LegacyCodec
@_exported import struct LaboratoryProtocol.LegacyMessageSplitter
@_exported import protocol LaboratoryProtocol.LegacyTransform
@_exported import struct LaboratoryProtocol.ServiceEvent
