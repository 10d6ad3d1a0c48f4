// The server hello and the transport key certificate (PROTOCOL.md §4).
import { ProtocolError, Reader, Writer, utf8 } from "./bytes.js";

export const MAGIC = utf8("LABR");
export const VERSION = 1;
export const SERVER_RANDOM_SIZE = 32;
export const CERTIFICATE_LABEL = utf8("laboratory v1 transport key");

export class NotLaboratory extends ProtocolError {}
export class UnsupportedVersion extends ProtocolError {}

/** Parses a hello payload; `payload` is kept, since the key derivation hashes it exactly. */
export function parseHello(payload) {
  if (payload.length < 4 || !MAGIC.every((b, i) => payload[i] === b)) {
    throw new NotLaboratory("the server's first message is not a Laboratory hello");
  }
  const reader = new Reader(payload);
  reader.take(4);
  const version = reader.u16();
  if (version !== VERSION) {
    throw new UnsupportedVersion(`the server speaks protocol version ${version}; this client speaks ${VERSION}`);
  }
  const identitySpki = reader.take(reader.u16());
  const transportSpki = reader.take(reader.u16());
  const notBefore = reader.u64();
  const notAfter = reader.u64();
  const signature = reader.take(reader.u16());
  const serverRandom = reader.take(SERVER_RANDOM_SIZE);
  reader.finish();
  return { identitySpki, transportSpki, notBefore, notAfter, signature, serverRandom, payload };
}

/** What the identity key signs: the label, the transport key's length and SPKI, the window. */
export function certificateBytes(transportSpki, notBefore, notAfter) {
  return new Writer().raw(CERTIFICATE_LABEL).u16(transportSpki.length).raw(transportSpki)
    .u64(notBefore).u64(notAfter).finish();
}
