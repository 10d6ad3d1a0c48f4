// The messages of PROTOCOL.md §10: encoders for the client's, a strict decoder for the server's.
import { ProtocolError, Reader, Writer } from "./bytes.js";

export const ClientType = Object.freeze({
  password: 0x81, name: 0x82, request: 0x90, serverNameQuery: 0x92, ping: 0x93, pong: 0x94,
  bye: 0x95, rename: 0x96, keyUpdate: 0x97,
});

export const ServerType = Object.freeze({
  passwordPrompt: 0x01, namePrompt: 0x02, accepted: 0x03, closing: 0x04, response: 0x10,
  event: 0x11, serverName: 0x12, ping: 0x13, pong: 0x14, serverStopping: 0x15, keyUpdate: 0x16,
  nameRejected: 0x17,
});

/** The close code whose `closing` may carry `retry_ms` (a locked-out source, §9 Admission). */
const REFUSED = 15;

export const KEY_UPDATE_SECRET_SIZE = 32;

/** Encodes a client message, given as `{ type: "password", password }` and so on. */
export function encodeClientMessage(message) {
  const writer = new Writer();
  switch (message.type) {
    case "password":
      return writer.u8(ClientType.password).string(message.password).finish();
    case "name":
      return writer.u8(ClientType.name).string(message.name).finish();
    case "request":
      return writer.u8(ClientType.request).u64(message.id).string(message.service).bytes(message.body).finish();
    case "serverNameQuery":
      return writer.u8(ClientType.serverNameQuery).finish();
    case "ping":
      return writer.u8(ClientType.ping).u64(message.value).finish();
    case "pong":
      return writer.u8(ClientType.pong).u64(message.value).finish();
    case "bye":
      return writer.u8(ClientType.bye).finish();
    case "rename":
      return writer.u8(ClientType.rename).u64(message.requestId).string(message.name).finish();
    case "keyUpdate":
      if (message.secret.length !== KEY_UPDATE_SECRET_SIZE) throw new RangeError("a key update secret is 32 bytes");
      return writer.u8(ClientType.keyUpdate).raw(message.secret).u8(message.requestUpdate ? 1 : 0).finish();
    default:
      throw new TypeError(`unknown client message ${message.type}`);
  }
}

/** Decodes a server message strictly (§2): unknown types, short fields and trailing bytes throw
 * a ProtocolError. u64 fields are BigInts. A `closing` has `retryMs` only when it carried one. */
export function decodeServerMessage(payload) {
  const reader = new Reader(payload);
  const type = reader.u8();
  let message;
  switch (type) {
    case ServerType.passwordPrompt:
      message = { type: "passwordPrompt" };
      break;
    case ServerType.namePrompt:
      message = { type: "namePrompt" };
      break;
    case ServerType.accepted: {
      const connectionId = reader.u64();
      const serverName = reader.string();
      const count = reader.u16();
      const services = [];
      for (let i = 0; i < count; i++) services.push(reader.string());
      message = { type: "accepted", connectionId, serverName, services };
      break;
    }
    case ServerType.closing: {
      message = { type: "closing", code: reader.u16(), message: reader.string() };
      // Only a refusal (code 15) may carry retry_ms, and never 0 (§9, Admission); any other
      // trailing bytes are left for reader.finish() to refuse.
      if (message.code === REFUSED && reader.offset < reader.bytes.length) {
        const retryMs = reader.u32();
        if (retryMs === 0) throw new ProtocolError("a refusal with retry_ms 0");
        message.retryMs = retryMs;
      }
      break;
    }
    case ServerType.nameRejected:
      message = { type: "nameRejected", reason: reader.string(), attemptsLeft: reader.u8() };
      break;
    case ServerType.response:
      message = {
        type: "response", requestId: reader.u64(), status: reader.u16(), errorMessage: reader.string(),
        body: reader.bytesField(),
      };
      break;
    case ServerType.event:
      message = { type: "event", service: reader.string(), body: reader.bytesField() };
      break;
    case ServerType.serverName:
      message = { type: "serverName", name: reader.string() };
      break;
    case ServerType.ping:
      message = { type: "ping", value: reader.u64() };
      break;
    case ServerType.pong:
      message = { type: "pong", value: reader.u64() };
      break;
    case ServerType.serverStopping:
      message = { type: "serverStopping", graceMs: reader.u32() };
      break;
    case ServerType.keyUpdate: {
      const secret = reader.take(KEY_UPDATE_SECRET_SIZE);
      const flag = reader.u8();
      if (flag > 1) throw new ProtocolError(`key update with request_update ${flag}`);
      message = { type: "keyUpdate", secret, requestUpdate: flag === 1 };
      break;
    }
    default:
      throw new ProtocolError(`unknown message type 0x${type.toString(16).padStart(2, "0")}`);
  }
  reader.finish();
  return message;
}
