// The chat service (PROTOCOL.md §17) over a Connection: JSON request bodies, replies and events.
import { fromUtf8, ProtocolError, utf8 } from "./bytes.js";
import { Status } from "./codes.js";

export const CHAT_SERVICE = "chat";
export const ROOM_NAME = /^[a-z0-9_-]{1,32}$/;
export const MAX_TEXT_BYTES = 4096;

export class ChatError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ChatError";
    this.status = status;
  }
}

/** A room name's problem, or null. */
export function roomNameProblem(room) {
  if (room.length < 1 || room.length > 32) return "room names are 1 to 32 characters";
  if (!ROOM_NAME.test(room)) return `room "${room}": room names use only lowercase a-z, 0-9, - and _`;
  return null;
}

/** 2^1024 − 2^970, the first integer that rounds to infinity as a double: 309 digits. */
const DOUBLE_OVERFLOW = (2n ** 1024n - 2n ** 970n).toString();
/** The bytes of a number besides its digits: `.`, `e`, `E`, `+`, `-`. */
const NUMBER_PARTS = [0x2e, 0x65, 0x45, 0x2b, 0x2d];
const isDigit = (byte) => byte >= 0x30 && byte <= 0x39;

/** A chat reply's or event's body (PROTOCOL.md §17) as JSON.parse reads it, but an integer beyond a
 * double's range (which JSON.parse would make Infinity) is refused with a ProtocolError naming
 * its byte, as the server refuses it. The body's numbers are found by skipping its strings; an
 * integer of up to 308 digits is within the range, none of 310 or more is, and one of 309 digits
 * is compared with the threshold digit by digit, so a long run of digits costs no conversion.
 * (Not Number(): ECMAScript lets it round a number of more than 20 significant digits either
 * way, and the threshold is 309 digits long.) */
export function parseChatJson(body) {
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (byte === 0x22) {  // a string: on to its closing quote, over escapes
      for (i++; i < body.length && body[i] !== 0x22; i++) if (body[i] === 0x5c) i++;
    } else if (byte === 0x2d || isDigit(byte)) {
      const start = i;
      if (byte === 0x2d) i++;
      const first = i;
      while (i < body.length && isDigit(body[i])) i++;
      const digits = i - first;
      // A fraction or an exponent (this check leaves such numbers to JSON.parse): past its end.
      let integer = true;
      for (; i < body.length && (isDigit(body[i]) || NUMBER_PARTS.includes(body[i])); i++) integer = false;
      if (integer && (digits > 309 || (digits === 309 && fromUtf8(body.subarray(first, i)) >= DOUBLE_OVERFLOW))) {
        throw new ProtocolError(`an integer beyond a double's range at byte ${start}`);
      }
      i--;  // so that the loop's i++ lands on the byte after the number
    }
  }
  return JSON.parse(fromUtf8(body));
}

/** A chat event body as an object, or null if it is not one. */
export function parseChatEvent(body) {
  try {
    const event = parseChatJson(body);
    return event && typeof event === "object" && typeof event.kind === "string" ? event : null;
  } catch {
    return null;
  }
}

export class Chat {
  constructor(connection) {
    this.connection = connection;
  }

  async call(request) {
    const response = await this.connection.request(CHAT_SERVICE, utf8(JSON.stringify(request)));
    if (response.status !== Status.ok) throw new ChatError(response.errorMessage || `status ${response.status}`, response.status);
    return parseChatJson(response.body);
  }

  join(room, after = undefined) {
    return this.call(after === undefined ? { op: "join", room } : { op: "join", room, after });
  }
  leave(room) {
    return this.call({ op: "leave", room });
  }
  rooms(after = undefined) {
    return this.call(after === undefined ? { op: "rooms" } : { op: "rooms", after });
  }
  /** Every member of `room`, following the `next` cursors. */
  async who(room) {
    const members = [];
    let after;
    for (;;) {
      const reply = await this.call(after === undefined ? { op: "who", room } : { op: "who", room, after });
      members.push(...(reply.members ?? []));
      if (typeof reply.next !== "string") return members;
      after = reply.next;
    }
  }
  say(room, text) {
    if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) throw new ChatError(`messages are at most ${MAX_TEXT_BYTES} bytes`, Status.serviceError);
    return this.call({ op: "say", room, text });
  }
  direct(to, text) {
    return this.call({ op: "direct", to, text });
  }
}
