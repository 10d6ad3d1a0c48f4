// The accepted session (PROTOCOL.md §8, §12, §13) as a state machine with no I/O: it numbers
// requests and renames, answers pings and key update requests, matches responses to what they
// answer, and ends at `closing`. Each method returns the actions the connection carries out:
//
//   { type: "send", message }                        seal and send a message
//   { type: "sendKeyUpdate", secret, requestUpdate } seal a keyUpdate under the current key, then
//                                                    switch the sending direction (§8)
//   { type: "updateReceiveKey", secret }             switch the receiving direction before the
//                                                    next frame is opened
//   { type: "response", id, kind, response }         a response to request/rename `id`
//   { type: "event", service, body }                 a pushed event
//   { type: "serverName", name }  { type: "pong", value }  { type: "serverStopping", graceMs }
//   { type: "closed", code, message }                the server's closing; nothing follows
import { ProtocolError } from "./bytes.js";
import { SECRET_SIZE } from "./crypto.js";

export class SessionMachine {
  constructor(acceptance) {
    this.acceptance = acceptance;
    this.nextId = 1n;
    this.outstanding = new Map(); // id (BigInt) → "request" | "rename"
    this.nextPing = 1n;
    this.closed = null;
  }

  requireOpen() {
    if (this.closed) throw new ProtocolError("the session has ended");
  }

  /** A request to `service`; returns { id, actions }. */
  request(service, body) {
    this.requireOpen();
    const id = this.nextId++;
    this.outstanding.set(id, "request");
    return { id, actions: [{ type: "send", message: { type: "request", id, service, body } }] };
  }

  /** A rename (§13), numbered from the same counter as requests; returns { id, actions }. */
  rename(name) {
    this.requireOpen();
    const id = this.nextId++;
    this.outstanding.set(id, "rename");
    return { id, actions: [{ type: "send", message: { type: "rename", requestId: id, name } }] };
  }

  /** Replaces the client's sending key and asks the server to replace its own (§8). */
  rekey(secret) {
    this.requireOpen();
    if (secret.length !== SECRET_SIZE) throw new RangeError("the secret is 32 bytes");
    return [{ type: "sendKeyUpdate", secret, requestUpdate: true }];
  }

  ping() {
    this.requireOpen();
    const value = this.nextPing++;
    return { value, actions: [{ type: "send", message: { type: "ping", value } }] };
  }

  serverNameQuery() {
    this.requireOpen();
    return [{ type: "send", message: { type: "serverNameQuery" } }];
  }

  /** The client ends the session; the server answers with `closing` code 1. */
  bye() {
    this.requireOpen();
    return [{ type: "send", message: { type: "bye" } }];
  }

  /** A message from the server. `freshSecret()` gives 32 random bytes when a key update request
   * must be answered. Messages not allowed in a session throw a ProtocolError. */
  receive(message, freshSecret) {
    if (this.closed) throw new ProtocolError(`${message.type} after closing`);
    switch (message.type) {
      case "ping":
        return [{ type: "send", message: { type: "pong", value: message.value } }];
      case "pong":
        return [{ type: "pong", value: message.value }];
      case "keyUpdate": {
        const actions = [{ type: "updateReceiveKey", secret: message.secret }];
        // Answered at once, never skipped, with request_update = 0 so requests cannot loop.
        if (message.requestUpdate) actions.push({ type: "sendKeyUpdate", secret: freshSecret(), requestUpdate: false });
        return actions;
      }
      case "response": {
        const kind = this.outstanding.get(message.requestId);
        if (kind === undefined) return []; // answers nothing outstanding: ignored
        this.outstanding.delete(message.requestId);
        return [{ type: "response", id: message.requestId, kind, response: message }];
      }
      case "event":
        return [{ type: "event", service: message.service, body: message.body }];
      case "serverName":
        return [{ type: "serverName", name: message.name }];
      case "serverStopping":
        return [{ type: "serverStopping", graceMs: message.graceMs }];
      case "closing":
        this.closed = { code: message.code, message: message.message };
        return [{ type: "closed", code: message.code, message: message.message }];
      default:
        throw new ProtocolError(`${message.type} is not allowed once the session has begun`);
    }
  }
}
