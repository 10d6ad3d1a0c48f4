// The chat service (PROTOCOL.md §17) over a Connection: JSON request bodies, replies and events.
import { fromUtf8, utf8 } from "./bytes.js";
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

/** A chat event body as an object, or null if it is not one. */
export function parseChatEvent(body) {
  try {
    const event = JSON.parse(fromUtf8(body));
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
    return JSON.parse(fromUtf8(response.body));
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
