// One connection to a Laboratory server over its WebSocket gateway: each binary WebSocket message
// is one frame payload (PROTOCOL.md §3 without the u32 length prefix). This is the only part that
// does I/O: it feeds payloads to the handshake and session machines and carries out the actions
// they return. WebCrypto is asynchronous, so inbound payloads are handled strictly one after the
// other (one promise chain) and so are outbound ones (another), which keeps the record layer's
// counters in step with the order on the wire.
//
// Events (CustomEvent, details in `event.detail`):
//   "hello"     { fingerprint, endpoint, pin }  pin: "trusted" | "unknown" | "mismatch"
//   "accepted"  { acceptance, fingerprint }
//   "event"     { service, body }
//   "serverStopping" { graceMs }   "keyUpdate" { direction: "send" | "receive" }
//   "nameRejected" { reason, attemptsLeft }  the server refused the name and will consider
//               another: answer with retryName(name) or giveUpName() (§9)
//   "closed"    { code, message, origin, retryable, failure?, retryMs? }  once, last; retryMs is
//               a locked-out source's wait before connecting again (code 15, §9 Admission)
//               origin: "server" (its closing), "transport" (the connection went), "client"
//               (this side: trust, certificate, protocol), with `unknownKey` or `mismatch` set
//               when the identity key was not trusted.
import { ProtocolError } from "./bytes.js";
import { CloseCode, closeCodeName, isRetryable } from "./codes.js";
import { CryptoFailure, Direction, randomBytes, SECRET_SIZE } from "./crypto.js";
import { MAX_HANDSHAKE_PAYLOAD, MAX_PAYLOAD } from "./framing.js";
import { ClientHandshake, HandshakeFailure, MAX_PASSWORD_BYTES } from "./handshake.js";
import { decodeServerMessage, encodeClientMessage } from "./messages.js";
import { SessionMachine } from "./session.js";
import { endpointOf } from "./trust.js";

/** How long the client waits for the server to close after `bye` (the reference client's 5 s). */
export const BYE_WAIT_MS = 5000;
/** The whole handshake's limit on this side (the reference client's 30 s). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

export class Connection extends EventTarget {
  /** `pins` is a PinStore; `acceptFingerprint` pins that one key if the server offers it and no
   * key is pinned yet (the user has just said they trust it). */
  constructor({ url, password, name, pins, acceptFingerprint = null, WebSocketImpl = globalThis.WebSocket, now = () => Date.now(), random = randomBytes }) {
    super();
    if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) throw new RangeError(`a password is at most ${MAX_PASSWORD_BYTES} bytes`);
    this.url = url;
    this.endpoint = endpointOf(url);
    this.pins = pins;
    this.acceptFingerprint = acceptFingerprint;
    this.WebSocketImpl = WebSocketImpl;
    this.now = now;
    this.random = random;
    this.handshake = new ClientHandshake({ password, name });
    this.session = null;
    this.sendDirection = null;
    this.receiveDirection = null;
    this.pending = new Map(); // id → { resolve, reject }
    this.inbound = Promise.resolve();
    this.outbound = Promise.resolve();
    this.ended = null;
    this.fingerprint = null;
    this.closingReason = null;
  }

  /** Opens the WebSocket; the handshake then runs by itself. */
  open() {
    const socket = new this.WebSocketImpl(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.handshakeTimer = setTimeout(() => {
      if (!this.session) this.end({ code: CloseCode.handshakeTimeout, message: `no answer from the server within ${HANDSHAKE_TIMEOUT_MS / 1000} s`, origin: "client", retryable: true });
    }, HANDSHAKE_TIMEOUT_MS);
    socket.addEventListener("message", (event) => {
      if (!(event.data instanceof ArrayBuffer)) {
        this.inbound = this.inbound.then(() => this.fail("protocolViolation", "the gateway sent a text message; frames are binary"));
        return;
      }
      const payload = new Uint8Array(event.data);
      this.inbound = this.inbound.then(() => this.handle(payload)).catch((error) => this.failWith(error));
    });
    socket.addEventListener("close", (event) => {
      this.inbound = this.inbound.then(() => this.transportClosed(event));
    });
    socket.addEventListener("error", () => {}); // a close event always follows
  }

  get isAccepted() {
    return this.session !== null && !this.ended;
  }

  // ---- The application's calls -------------------------------------------------------------

  /** Sends a request; resolves to { status, errorMessage, body } (body a Uint8Array). */
  request(service, body) {
    return this.call((session) => session.request(service, body));
  }

  /** Renames (§13); resolves to the response (status 0 ok, 4 refused with a reason). */
  rename(name) {
    return this.call((session) => session.rename(name));
  }

  /** Replaces this side's sending key and asks the server to replace its own (§8). */
  rekey() {
    this.requireSession();
    this.perform(this.session.rekey(this.random(SECRET_SIZE)));
  }

  /** Answers a "nameRejected" event with another display name (one per rejection, §9). */
  retryName(name) {
    if (this.ended || this.handshake.phase !== "awaitingNewName") throw new Error("no rejected name to replace");
    this.performHandshake(this.handshake.retryName(name)).catch((error) => this.failWith(error));
  }

  /** Answers a "nameRejected" event by giving up: the connection ends with the server's reason. */
  giveUpName() {
    if (this.ended || this.handshake.phase !== "awaitingNewName") return;
    try {
      this.handshake.giveUpName();
    } catch (error) {
      this.failWith(error);
    }
  }

  /** Ends the session with `bye`; the server answers with closing code 1. */
  bye() {
    if (!this.isAccepted) {
      this.end({ code: CloseCode.normal, message: "disconnected", origin: "client", retryable: false });
      return;
    }
    this.perform(this.session.bye());
    this.byeTimer = setTimeout(() => this.end({ code: CloseCode.normal, message: "the server did not close after bye", origin: "client", retryable: false }), BYE_WAIT_MS);
  }

  call(make) {
    this.requireSession();
    const { id, actions } = make(this.session);
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    try {
      this.perform(actions);
    } catch (error) {
      this.pending.delete(id); // nothing was sent (a message too large to send)
      throw error;
    }
    return promise;
  }

  requireSession() {
    if (!this.isAccepted) throw new Error("not connected");
  }

  // ---- Inbound -------------------------------------------------------------------------------

  async handle(payload) {
    if (this.ended) return;
    if (payload.length > MAX_PAYLOAD) return this.fail("protocolViolation", `a frame of ${payload.length} bytes exceeds the maximum of ${MAX_PAYLOAD}`);
    const handshake = this.handshake;
    if (handshake.phase === "awaitingHello") {
      const actions = await handshake.receiveHello(payload, this.now());
      return this.performHandshake(actions);
    }
    let message;
    try {
      const opened = await this.receiveDirection.open(payload);
      message = decodeServerMessage(opened);
    } catch (error) {
      if (!this.session) {
        if (error instanceof CryptoFailure) handshake.receiveUnopenable(payload);
        handshake.receiveMalformed(error);
      }
      throw error;
    }
    if (!this.session) return this.performHandshake(handshake.receive(message));
    return this.perform(this.session.receive(message, () => this.random(SECRET_SIZE)));
  }

  async performHandshake(actions) {
    for (const action of actions) {
      switch (action.type) {
        case "checkTrust": {
          this.fingerprint = action.fingerprint;
          let decision = this.pins.check(this.endpoint, action.fingerprint);
          if (decision.status === "unknown" && this.acceptFingerprint === action.fingerprint) {
            this.pins.pin(this.endpoint, action.fingerprint);
            decision = { status: "trusted" };
          }
          this.emit("hello", { fingerprint: action.fingerprint, endpoint: this.endpoint, pin: decision.status });
          if (decision.status === "unknown") {
            // Nothing is sent to a server whose key the user has not trusted yet.
            return this.end({
              code: null, message: `the server's key ${action.fingerprint} is not trusted yet`, origin: "client", retryable: false,
              unknownKey: { fingerprint: action.fingerprint, endpoint: this.endpoint },
            });
          }
          const mismatch = decision.status === "mismatch"
            ? `the server's key changed: pinned ${decision.pinned}, offered ${action.fingerprint}` : null;
          if (mismatch) this.mismatch = { pinned: decision.pinned, offered: action.fingerprint, endpoint: this.endpoint };
          await this.performHandshake(await this.handshake.trustDecided(mismatch, this.random(SECRET_SIZE)));
          break;
        }
        case "sendPlaintext":
          this.enqueueSend(async () => this.transmit(action.payload));
          break;
        case "installKeys":
          this.sendDirection = await Direction.create(action.keys.c2sKey, action.keys.c2sIv);
          this.receiveDirection = await Direction.create(action.keys.s2cKey, action.keys.s2cIv);
          break;
        case "send":
          this.perform([action], MAX_HANDSHAKE_PAYLOAD);
          break;
        case "nameRejected":
          this.emit("nameRejected", { reason: action.reason, attemptsLeft: action.attemptsLeft });
          break;
        case "accepted":
          clearTimeout(this.handshakeTimer);
          this.session = new SessionMachine(action.acceptance);
          this.emit("accepted", { acceptance: action.acceptance, fingerprint: this.fingerprint });
          break;
      }
    }
  }

  // ---- Actions -------------------------------------------------------------------------------

  perform(actions, maxPayload = MAX_PAYLOAD) {
    for (const action of actions) {
      switch (action.type) {
        case "send": {
          const message = encodeClientMessage(action.message);
          if (message.length + 16 > maxPayload) throw new RangeError(`a message of ${message.length} bytes is too large to send`);
          this.enqueueSend(async () => this.transmit(await this.sendDirection.seal(message)));
          break;
        }
        case "sendKeyUpdate": {
          const message = encodeClientMessage({ type: "keyUpdate", secret: action.secret, requestUpdate: action.requestUpdate });
          this.enqueueSend(async () => {
            this.transmit(await this.sendDirection.seal(message));
            await this.sendDirection.update(action.secret); // the next frame is sealed under the new key
            this.emit("keyUpdate", { direction: "send" });
          });
          break;
        }
        case "updateReceiveKey":
          // Runs inside the inbound chain: the next frame is opened only after this.
          return this.receiveDirection.update(action.secret).then(() => {
            this.emit("keyUpdate", { direction: "receive" });
            return this.perform(actions.slice(actions.indexOf(action) + 1), maxPayload);
          });
        case "response": {
          const waiter = this.pending.get(action.id);
          this.pending.delete(action.id);
          waiter?.resolve({ status: action.response.status, errorMessage: action.response.errorMessage, body: action.response.body });
          break;
        }
        case "event":
          this.emit("event", { service: action.service, body: action.body });
          break;
        case "serverStopping":
          this.emit("serverStopping", { graceMs: action.graceMs });
          break;
        case "serverName":
        case "pong":
          this.emit(action.type, action);
          break;
        case "closed":
          this.closingReason = { code: action.code, message: action.message };
          this.end({ code: action.code, message: action.message, origin: "server", retryable: isRetryable(action.code) });
          break;
      }
    }
  }

  enqueueSend(job) {
    this.outbound = this.outbound.then(() => (this.ended ? undefined : job())).catch((error) => this.failWith(error));
  }

  transmit(payload) {
    // A socket that is closing drops what is sent; its close event ends the connection with the
    // transport's reason (so the page reconnects), rather than this send with an error of ours.
    if (this.socket.readyState !== 1) return;
    this.socket.send(payload);
  }

  // ---- Endings -------------------------------------------------------------------------------

  transportClosed(event) {
    if (this.ended) return;
    const how = event.code === 1000 || event.code === 1005 ? "" : ` (WebSocket close ${event.code}${event.reason ? `: ${event.reason}` : ""})`;
    this.end({
      code: CloseCode.peerClosed,
      message: this.session ? `the connection was lost${how}` : `the server closed the connection during the handshake${how}`,
      origin: "transport", retryable: true,
    });
  }

  fail(kind, message) {
    this.failWith(this.session ? new ProtocolError(message) : this.handshake.fail(kind, message));
  }

  failWith(error) {
    if (this.ended) return;
    if (error instanceof HandshakeFailure) {
      const closing = error.closing;
      return this.end({
        code: closing ? closing.code : codeForFailure(error.kind),
        message: closing ? closing.message : error.detail,
        origin: closing ? "server" : "client",
        retryable: closing ? isRetryable(closing.code) : false,
        failure: { kind: error.kind, step: error.step, description: error.message },
        retryMs: closing?.retryMs,
        mismatch: error.kind === "untrustedKey" ? this.mismatch : undefined,
      });
    }
    const code = error instanceof CryptoFailure ? CloseCode.decryptionFailed : CloseCode.protocolViolation;
    this.end({ code, message: error.message, origin: "client", retryable: false });
  }

  /** Ends once: closes the socket, fails what is outstanding, reports why. */
  end(reason) {
    if (this.ended) return;
    this.ended = reason;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.byeTimer);
    try {
      this.socket?.close(1000);
    } catch {
      // already closing
    }
    const error = new Error(`the connection ended: ${reason.message}`);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.emit("closed", { ...reason, codeName: reason.code === null ? null : closeCodeName(reason.code) });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function codeForFailure(kind) {
  switch (kind) {
    case "decryptionFailed":
      return CloseCode.decryptionFailed;
    case "protocolViolation":
      return CloseCode.protocolViolation;
    case "nameRejected":
      return CloseCode.invalidName; // this side gave up after the server's nameRejected
    default:
      return null; // untrusted key, bad certificate: nothing to do with the server's codes
  }
}
