// The cryptography of protocol v1 on WebCrypto: fingerprints, the certificate (RSA-PSS), the key
// exchange (RSA-OAEP), the key schedule and key updates (HKDF-SHA256), and the record layer
// (AES-256-GCM with counter nonces). PROTOCOL.md §4–§8. WebCrypto exists only in a secure context
// (https:, or http: on localhost / 127.0.0.1).
import { base64Unpadded, concat, utf8 } from "./bytes.js";

export const SECRET_SIZE = 32;
export const TAG_SIZE = 16;
export const SESSION_KEYS_INFO = utf8("laboratory v1 session keys");
export const KEY_UPDATE_INFO = utf8("laboratory v1 key update");
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 4096;
const MAX_COUNTER = (1n << 64n) - 2n; // 2^64 - 1 is never used

export class CryptoFailure extends Error {
  constructor(message) {
    super(message);
    this.name = "CryptoFailure";
  }
}

function subtle() {
  if (!globalThis.crypto?.subtle) {
    throw new CryptoFailure("WebCrypto is not available: open the page over https: or from localhost (a secure context)");
  }
  return globalThis.crypto.subtle;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest("SHA-256", bytes));
}

/** `SHA256:` and the unpadded standard base64 of the SHA-256 of the SPKI bytes (§4). */
export async function fingerprint(spki) {
  return "SHA256:" + base64Unpadded(await sha256(spki));
}

export function randomBytes(count) {
  return globalThis.crypto.getRandomValues(new Uint8Array(count));
}

async function importRsa(spki, algorithm, usage) {
  let key;
  try {
    key = await subtle().importKey("spki", spki, { name: algorithm, hash: "SHA-256" }, false, [usage]);
  } catch (error) {
    throw new CryptoFailure(`not a usable RSA public key (DER SubjectPublicKeyInfo): ${error.message}`);
  }
  const bits = key.algorithm.modulusLength;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new CryptoFailure(`RSA key of ${bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted`);
  }
  return key;
}

/** RSASSA-PSS, SHA-256, MGF1-SHA256, salt length 32, by the identity key; throws if it fails. */
export async function verifyCertificate(identitySpki, signedBytes, signature) {
  const key = await importRsa(identitySpki, "RSA-PSS", "verify");
  const valid = await subtle().verify({ name: "RSA-PSS", saltLength: 32 }, key, signature, signedBytes);
  if (!valid) throw new CryptoFailure("the transport key's signature does not verify under the identity key");
}

/** Checks the validity window (BigInt milliseconds) against the client's clock. */
export function checkValidity(notBefore, notAfter, nowMs, toleranceMs) {
  const now = BigInt(nowMs);
  const tolerance = BigInt(toleranceMs);
  if (notBefore > notAfter) throw new CryptoFailure("the transport key's validity window ends before it begins");
  if (now < notBefore - tolerance) throw new CryptoFailure("the transport key is not valid yet (check the clocks)");
  if (now > notAfter + tolerance) throw new CryptoFailure("the transport key has expired (check the clocks)");
}

/** Checks that the transport key is a usable RSA key of an accepted size. */
export async function checkTransportKey(transportSpki) {
  await importRsa(transportSpki, "RSA-OAEP", "encrypt");
}

/** RSAES-OAEP with SHA-256, MGF1-SHA256 and an empty label, to the transport key (§5). */
export async function encryptSecret(transportSpki, secret) {
  const key = await importRsa(transportSpki, "RSA-OAEP", "encrypt");
  return new Uint8Array(await subtle().encrypt({ name: "RSA-OAEP" }, key, secret));
}

/** HKDF-SHA256 (RFC 5869, extract then expand). */
export async function hkdf(ikm, salt, info, length) {
  const key = await subtle().importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8));
}

export async function sessionKeysInfo(helloPayload) {
  return concat(SESSION_KEYS_INFO, await sha256(helloPayload));
}

/** The session keys (§6): { c2sKey, s2cKey, c2sIv, s2cIv } from the 88-byte HKDF output. */
export async function deriveSessionKeys(secret, serverRandom, helloPayload) {
  const okm = await hkdf(secret, serverRandom, await sessionKeysInfo(helloPayload), 88);
  return { okm, c2sKey: okm.slice(0, 32), s2cKey: okm.slice(32, 64), c2sIv: okm.slice(64, 76), s2cIv: okm.slice(76, 88) };
}

/** The new { key, iv } of a direction after a key update sealed under `currentKey` (§8). */
export async function deriveKeyUpdate(secret, currentKey) {
  const okm = await hkdf(secret, currentKey, KEY_UPDATE_INFO, 44);
  return { okm, key: okm.slice(0, 32), iv: okm.slice(32, 44) };
}

/** The IV with the counter's 8 big-endian bytes XORed into its last 8 bytes (§7). */
export function nonce(iv, counter) {
  const out = iv.slice();
  let value = BigInt(counter);
  for (let i = 11; i >= 4; i--) {
    out[i] ^= Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** One direction's key, IV and frame counter. Sealing and opening are asynchronous, so the caller
 * must not start the next operation in a direction before the last one has finished (the
 * connection keeps one queue per direction). */
export class Direction {
  static async create(key, iv) {
    const direction = new Direction();
    await direction.install(key, iv);
    return direction;
  }

  async install(key, iv) {
    this.aes = await subtle().importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
    this.key = key;
    this.iv = iv;
    this.counter = 0n;
  }

  nextNonce() {
    if (this.counter > MAX_COUNTER) throw new CryptoFailure("the frame counter is exhausted");
    return nonce(this.iv, this.counter);
  }

  /** Ciphertext and tag of `message` under the current key and counter; the counter advances. */
  async seal(message) {
    const sealed = await subtle().encrypt({ name: "AES-GCM", iv: this.nextNonce(), tagLength: 128 }, this.aes, message);
    this.counter += 1n;
    return new Uint8Array(sealed);
  }

  /** The message in a sealed payload; a payload that fails to open throws and does not advance
   * the counter. */
  async open(payload) {
    if (payload.length < TAG_SIZE) throw new CryptoFailure("sealed frame shorter than its tag");
    let message;
    try {
      message = await subtle().decrypt({ name: "AES-GCM", iv: this.nextNonce(), tagLength: 128 }, this.aes, payload);
    } catch {
      throw new CryptoFailure("a frame failed to open (decryption failed)");
    }
    this.counter += 1n;
    return new Uint8Array(message);
  }

  /** Switches to the key and IV that follow from `secret` and the current key; counter 0. */
  async update(secret) {
    const next = await deriveKeyUpdate(secret, this.key);
    await this.install(next.key, next.iv);
  }
}
