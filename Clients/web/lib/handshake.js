// The client side of the v1 handshake as a state machine, the mirror of the Swift
// `ClientHandshake` (Sources/LaboratoryProtocol/ClientHandshake.swift):
//
//   awaitingHello → awaitingTrust → awaitingPasswordPrompt → awaitingNamePrompt →
//   awaitingAcceptance → accepted, or failed; a `nameRejected` in awaitingAcceptance leads to
//   awaitingNewName, left by retryName (back to awaitingAcceptance) or giveUpName (failed).
//
// It performs no I/O and touches no DOM: each input returns the actions the connection must carry
// out, in order, and a failure throws a HandshakeFailure naming the step and why (the machine is
// then `failed`). The connection owns the socket and the record layer: it opens each frame with
// the keys of the last `installKeys` action and hands the machine the message, or tells it the
// frame did not open. Only the hello and the trust decision are asynchronous, because WebCrypto is.
//
// Actions: { type: "checkTrust", fingerprint }, { type: "sendPlaintext", payload },
// { type: "installKeys", keys }, { type: "send", message }, { type: "accepted", acceptance },
// { type: "nameRejected", reason, attemptsLeft } (ask the user: retryName or giveUpName, §9).
import { ProtocolError } from "./bytes.js";
import { checkTransportKey, checkValidity, CryptoFailure, deriveSessionKeys, encryptSecret, fingerprint, SECRET_SIZE, verifyCertificate } from "./crypto.js";
import { certificateBytes, parseHello } from "./hello.js";
import { decodeServerMessage } from "./messages.js";
import { closeCodeName } from "./codes.js";

/** The reference client's tolerance for the two clocks around the validity window (§4). */
export const DEFAULT_CLOCK_SKEW_MS = 600_000;
/** A password is at most 1,024 bytes of UTF-8 (§9). */
export const MAX_PASSWORD_BYTES = 1024;

export class HandshakeFailure extends Error {
  /** kind: "closedByServer" | "badCertificate" | "untrustedKey" | "decryptionFailed" |
   * "protocolViolation" | "nameRejected" (the caller gave up after a `nameRejected`); step: "hello" | "keyExchange" | "password" | "name". */
  constructor(kind, step, message, closing = null) {
    super(`${step}: ${message}`);
    this.name = "HandshakeFailure";
    this.kind = kind;
    this.step = step;
    this.detail = message;
    this.closing = closing; // { code, message, retryMs? } when the server closed
    this.rejection = null; // { reason, attemptsLeft } when the caller gave up a rejected name
  }
}

export class ClientHandshake {
  constructor({ password, name, clockSkewMs = DEFAULT_CLOCK_SKEW_MS }) {
    this.credentials = { password, name, clockSkewMs };
    this.state = { phase: "awaitingHello" };
  }

  get phase() {
    return this.state.phase;
  }

  /** The step a failure now would be reported at. */
  get step() {
    switch (this.state.phase) {
      case "awaitingHello":
      case "awaitingTrust":
        return "hello";
      case "awaitingPasswordPrompt":
        return "keyExchange";
      case "awaitingNamePrompt":
        return "password";
      default:
        return "name";
    }
  }

  /** The server's first payload: a hello, or a `closing` refusing the connection (§4). Checks the
   * hello's form and its certificate (signature, window, key sizes), then asks for the trust
   * decision on the identity key's fingerprint. `nowMs` is the client's clock. */
  async receiveHello(payload, nowMs) {
    if (this.state.phase !== "awaitingHello") throw this.fail("protocolViolation", "a second hello");
    if (payload[0] === 0x04) {
      let closing;
      try {
        closing = decodeServerMessage(payload);
      } catch (error) {
        throw this.fail("protocolViolation", `malformed closing instead of a hello: ${error.message}`);
      }
      throw this.closedByServer(closing);
    }
    let hello;
    try {
      hello = parseHello(payload);
    } catch (error) {
      if (error instanceof ProtocolError) throw this.fail("protocolViolation", error.message);
      throw error;
    }
    try {
      await verifyCertificate(hello.identitySpki, certificateBytes(hello.transportSpki, hello.notBefore, hello.notAfter), hello.signature);
      checkValidity(hello.notBefore, hello.notAfter, nowMs, this.credentials.clockSkewMs);
      await checkTransportKey(hello.transportSpki);
    } catch (error) {
      if (error instanceof CryptoFailure) throw this.fail("badCertificate", error.message);
      throw error;
    }
    const print = await fingerprint(hello.identitySpki);
    this.state = { phase: "awaitingTrust", hello, fingerprint: print };
    return [{ type: "checkTrust", fingerprint: print }];
  }

  /** The caller's trust decision: `null` if the identity key is trusted, otherwise why not (the
   * handshake then fails and nothing has been sent). `secret` is 32 fresh random bytes (injected
   * so tests are deterministic). */
  async trustDecided(mismatch, secret) {
    if (this.state.phase !== "awaitingTrust") throw this.fail("protocolViolation", "a trust decision without a hello to decide on");
    if (mismatch !== null) throw this.fail("untrustedKey", mismatch);
    if (secret.length !== SECRET_SIZE) throw new RangeError("the secret is 32 bytes");
    const { hello } = this.state;
    let keys;
    let exchange;
    try {
      keys = await deriveSessionKeys(secret, hello.serverRandom, hello.payload);
      exchange = await encryptSecret(hello.transportSpki, secret);
    } catch (error) {
      throw this.fail("badCertificate", `could not encrypt to the transport key: ${error.message}`);
    }
    this.state = { phase: "awaitingPasswordPrompt" };
    return [{ type: "sendPlaintext", payload: exchange }, { type: "installKeys", keys }];
  }

  /** An opened and decoded message from the server during the handshake. */
  receive(message) {
    const phase = this.state.phase;
    if (["awaitingHello", "awaitingTrust", "accepted", "failed"].includes(phase)) {
      throw this.fail("protocolViolation", "a message from the server before the hello was handled or after the end");
    }
    if (message.type === "closing") throw this.closedByServer(message);
    if (phase === "awaitingPasswordPrompt" && message.type === "passwordPrompt") {
      this.state = { phase: "awaitingNamePrompt" };
      return [{ type: "send", message: { type: "password", password: this.credentials.password } }];
    }
    if (phase === "awaitingNamePrompt" && message.type === "namePrompt") {
      this.state = { phase: "awaitingAcceptance" };
      return [{ type: "send", message: { type: "name", name: this.credentials.name } }];
    }
    if (phase === "awaitingAcceptance" && message.type === "nameRejected") {
      const rejection = { reason: message.reason, attemptsLeft: message.attemptsLeft };
      this.state = { phase: "awaitingNewName", rejection };
      return [{ type: "nameRejected", ...rejection }];
    }
    if (phase === "awaitingAcceptance" && message.type === "accepted") {
      const acceptance = { connectionId: message.connectionId, serverName: message.serverName, services: message.services };
      this.state = { phase: "accepted", acceptance };
      return [{ type: "accepted", acceptance }];
    }
    throw this.fail("protocolViolation", `unexpected ${message.type} from the server`);
  }

  /** The caller's next display name after a `nameRejected` action: one name per rejection (§9). */
  retryName(name) {
    if (this.state.phase !== "awaitingNewName") throw this.fail("protocolViolation", "a new name without a rejected one");
    this.credentials.name = name;
    this.state = { phase: "awaitingAcceptance" };
    return [{ type: "send", message: { type: "name", name } }];
  }

  /** The caller has no other name after a `nameRejected` action: the handshake fails with the
   * server's reason (the connection then closes). Always throws. */
  giveUpName() {
    if (this.state.phase !== "awaitingNewName") throw this.fail("protocolViolation", "giving up a name without a rejected one");
    const { rejection } = this.state;
    const failure = this.fail("nameRejected", `the server rejected the name: ${rejection.reason}`);
    failure.rejection = rejection;
    throw failure;
  }

  /** A payload that did not open with the session keys, or did not decode. Before the server has
   * processed the key exchange it can only close in plaintext, so a plaintext `closing` then is
   * its reason (unauthenticated, only shown); anything else is a decryption failure. Always
   * throws. */
  receiveUnopenable(payload) {
    if (this.state.phase === "awaitingPasswordPrompt" && payload[0] === 0x04) {
      let closing = null;
      try {
        closing = decodeServerMessage(payload);
      } catch {
        closing = null;
      }
      if (closing) throw this.closedByServer(closing);
    }
    throw this.fail("decryptionFailed", "a frame from the server did not authenticate");
  }

  /** A message that did not decode after opening. */
  receiveMalformed(error) {
    throw this.fail("protocolViolation", `malformed message: ${error.message}`);
  }

  closedByServer(closing) {
    const reason = { code: closing.code, message: closing.message };
    if (closing.retryMs !== undefined) reason.retryMs = closing.retryMs;
    return this.fail("closedByServer", `the server closed with code ${closing.code} (${closeCodeName(closing.code)}): ${closing.message}`, reason);
  }

  fail(kind, message, closing = null) {
    const failure = new HandshakeFailure(kind, this.step, message, closing);
    this.state = { phase: "failed", failure };
    return failure;
  }
}
