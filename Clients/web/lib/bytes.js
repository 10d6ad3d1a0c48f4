// Byte strings (Uint8Array), the wire's integer and string encodings (PROTOCOL.md §2), hex and
// base64. No DOM, no crypto.

export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProtocolError";
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text) {
  return utf8Encoder.encode(text);
}

/** Decodes strict UTF-8; invalid bytes are a protocol violation (§2). */
export function fromUtf8(bytes) {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolError("a string is not valid UTF-8");
  }
}

export function concat(...parts) {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error("not hex");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 (RFC 4648 §4) without the `=` padding. */
export function base64Unpadded(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "");
}

/** Builds a payload from the wire types. */
export class Writer {
  constructor() {
    this.parts = [];
  }
  u8(value) {
    this.parts.push(Uint8Array.of(value & 0xff));
    return this;
  }
  u16(value) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`u16 out of range: ${value}`);
    this.parts.push(Uint8Array.of(value >>> 8, value & 0xff));
    return this;
  }
  u32(value) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`u32 out of range: ${value}`);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value);
    this.parts.push(out);
    return this;
  }
  /** A u64 from a BigInt or a safe integer. */
  u64(value) {
    const big = BigInt(value);
    if (big < 0n || big > 0xffffffffffffffffn) throw new RangeError(`u64 out of range: ${value}`);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, big);
    this.parts.push(out);
    return this;
  }
  raw(bytes) {
    this.parts.push(bytes);
    return this;
  }
  /** A `string`: u16 length and UTF-8. Longer text is cut on a code point boundary (§2). */
  string(text) {
    let bytes = utf8(text);
    if (bytes.length > 0xffff) {
      let end = 0xffff;
      while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
      bytes = bytes.slice(0, end);
    }
    return this.u16(bytes.length).raw(bytes);
  }
  /** A `bytes`: u32 length and the bytes. */
  bytes(bytes) {
    return this.u32(bytes.length).raw(bytes);
  }
  finish() {
    return concat(...this.parts);
  }
}

/** Reads a payload strictly: running past the end is a protocol violation, and so is anything
 * left over once `finish()` is called. */
export class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 0;
  }
  need(count) {
    if (this.offset + count > this.bytes.length) throw new ProtocolError("a field runs past the end of the message");
  }
  u8() {
    this.need(1);
    return this.bytes[this.offset++];
  }
  u16() {
    this.need(2);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }
  u32() {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }
  /** A u64 as a BigInt. */
  u64() {
    this.need(8);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }
  take(count) {
    this.need(count);
    const out = this.bytes.slice(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
  string() {
    return fromUtf8(this.take(this.u16()));
  }
  bytesField() {
    return this.take(this.u32());
  }
  finish() {
    if (this.offset !== this.bytes.length) throw new ProtocolError(`${this.bytes.length - this.offset} bytes left over after the last field`);
  }
}
