// The protocol's value types that the client's public API hands to users (acceptance, close
// reasons, name rejections, response statuses, pushed events, the chat service's requests and replies), re-exported
// one by one: `import LaboratoryClient` brings these names and nothing else from the lower modules.
// See Docs/ARCHITECTURE.md, "Public API".
@_exported import struct LaboratoryProtocol.Acceptance
@_exported import struct LaboratoryProtocol.ChatEvent
@_exported import struct LaboratoryProtocol.ChatMember
@_exported import struct LaboratoryProtocol.ChatReply
@_exported import enum LaboratoryProtocol.ChatRequest
@_exported import struct LaboratoryProtocol.ChatRoomSummary
@_exported import struct LaboratoryProtocol.CloseReason
@_exported import enum LaboratoryProtocol.LaboratoryVersion
@_exported import struct LaboratoryProtocol.NameRejection
@_exported import struct LaboratoryProtocol.ResponseStatus
@_exported import struct LaboratoryProtocol.ServiceEvent
