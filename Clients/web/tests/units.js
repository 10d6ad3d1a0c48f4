// Checks of the client's pure parts in the browser: the handshake machine's table (every message
// in every state; only the expected one advances), the session machine, the pin store, display
// names and text, chat bodies' integer range, backoff. `window.runUnits()` resolves to [{ name, ok, detail }].
import { ProtocolError, utf8 } from "../lib/bytes.js";
import { backoffDelay, formatDuration, MAX_DELAY_MS, REFUSED_MIN_DELAY_MS } from "../lib/backoff.js";
import { parseChatEvent, parseChatJson, roomNameProblem } from "../lib/chat.js";
import { closeCodeName, CloseCode, isRetryable } from "../lib/codes.js";
import { ClientHandshake, HandshakeFailure } from "../lib/handshake.js";
import { decodeServerMessage, encodeClientMessage } from "../lib/messages.js";
import { displayNameProblem, displayText } from "../lib/names.js";
import { SessionMachine } from "../lib/session.js";
import { endpointOf, PinStore } from "../lib/trust.js";

function expectEqual(actual, expected, what) {
  const show = (x) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v));
  if (show(actual) !== show(expected)) throw new Error(`${what}: got ${show(actual)}, expected ${show(expected)}`);
}

function failureOf(run) {
  try {
    run();
  } catch (error) {
    if (error instanceof HandshakeFailure) return error;
    throw error;
  }
  return null;
}

const serverMessages = {
  passwordPrompt: { type: "passwordPrompt" },
  namePrompt: { type: "namePrompt" },
  accepted: { type: "accepted", connectionId: 7n, serverName: "Lab", services: ["echo", "chat"] },
  response: { type: "response", requestId: 1n, status: 0, errorMessage: "", body: new Uint8Array() },
  event: { type: "event", service: "chat", body: new Uint8Array() },
  ping: { type: "ping", value: 1n },
  keyUpdate: { type: "keyUpdate", secret: new Uint8Array(32), requestUpdate: false },
  nameRejected: { type: "nameRejected", reason: "display name is empty", attemptsLeft: 2 },
};

/** A machine in the given phase, without crypto (the phase after the key exchange is set directly,
 * as trustDecided would). */
function machineIn(phase) {
  const machine = new ClientHandshake({ password: "pw", name: "Ada" });
  machine.state = phase === "awaitingNewName" ? { phase, rejection: { reason: "display name is empty", attemptsLeft: 2 } } : { phase };
  return machine;
}

const checks = {
  handshake_table: () => {
    // phase → { the messages it takes: the phase they lead to }; every other message fails it.
    const table = {
      awaitingPasswordPrompt: { passwordPrompt: "awaitingNamePrompt" },
      awaitingNamePrompt: { namePrompt: "awaitingAcceptance" },
      awaitingAcceptance: { accepted: "accepted", nameRejected: "awaitingNewName" },
    };
    for (const phase of ["awaitingHello", "awaitingTrust", "awaitingPasswordPrompt", "awaitingNamePrompt", "awaitingAcceptance", "awaitingNewName", "accepted"]) {
      for (const [name, message] of Object.entries(serverMessages)) {
        const machine = machineIn(phase);
        const failure = failureOf(() => machine.receive(message));
        const next = table[phase]?.[name];
        if (next) {
          if (failure) throw new Error(`${name} in ${phase} failed: ${failure.message}`);
          expectEqual(machine.phase, next, `${name} in ${phase}`);
        } else {
          if (!failure) throw new Error(`${name} in ${phase} was accepted`);
          expectEqual([failure.kind, machine.phase], ["protocolViolation", "failed"], `${name} in ${phase}`);
        }
      }
    }
  },
  handshake_name_retry: () => {
    // nameRejected → awaitingNewName; retryName sends exactly one name and waits again; a second
    // rejection can be retried too; then accepted.
    const machine = machineIn("awaitingAcceptance");
    expectEqual(machine.receive(serverMessages.nameRejected), [{ type: "nameRejected", reason: "display name is empty", attemptsLeft: 2 }], "rejection action");
    expectEqual(machine.step, "name", "step while awaiting a new name");
    expectEqual(machine.retryName(" Bob"), [{ type: "send", message: { type: "name", name: " Bob" } }], "retry");
    expectEqual(machine.phase, "awaitingAcceptance", "after a retry");
    machine.receive({ ...serverMessages.nameRejected, reason: "display name starts or ends with whitespace", attemptsLeft: 1 });
    machine.retryName("Bob");
    expectEqual(machine.receive(serverMessages.accepted)[0].type, "accepted", "accepted after the retries");
    // A retry nobody asked for, a second retry for one rejection, and giving up without one fail.
    for (const phase of ["awaitingPasswordPrompt", "awaitingNamePrompt", "awaitingAcceptance", "accepted"]) {
      const failure = failureOf(() => machineIn(phase).retryName("Bob"));
      expectEqual([failure?.kind, failure?.step === undefined], ["protocolViolation", false], `retryName in ${phase}`);
      expectEqual(failureOf(() => machineIn(phase).giveUpName())?.kind, "protocolViolation", `giveUpName in ${phase}`);
    }
    const once = machineIn("awaitingNewName");
    once.retryName("Bob");
    expectEqual(failureOf(() => once.retryName("Carol"))?.kind, "protocolViolation", "two names for one rejection");
    // Giving up fails the handshake with the server's reason.
    const givingUp = machineIn("awaitingNewName");
    const failure = failureOf(() => givingUp.giveUpName());
    expectEqual([failure.kind, failure.step, failure.rejection, givingUp.phase], ["nameRejected", "name", { reason: "display name is empty", attemptsLeft: 2 }, "failed"], "give up");
    // The server may still close while the user thinks (a deadline: code 5; the last attempt: 7).
    const closed = failureOf(() => machineIn("awaitingNewName").receive({ type: "closing", code: 5, message: "handshake timeout" }));
    expectEqual([closed.kind, closed.step, closed.closing], ["closedByServer", "name", { code: 5, message: "handshake timeout" }], "closing while awaiting a new name");
  },
  closing_retry_ms: () => {
    const closing = (code, extra) => Uint8Array.of(0x04, 0x00, code, 0x00, 0x01, 0x78, ...extra);
    expectEqual(decodeServerMessage(closing(15, [0, 0, 0x03, 0xe8])), { type: "closing", code: 15, message: "x", retryMs: 1000 }, "with retry_ms");
    expectEqual(decodeServerMessage(closing(15, [])), { type: "closing", code: 15, message: "x" }, "without");
    expectEqual(decodeServerMessage(closing(15, [0xff, 0xff, 0xff, 0xff])).retryMs, 4294967295, "the largest");
    for (const [what, bytes] of [["retry_ms 0", closing(15, [0, 0, 0, 0])], ["2 bytes", closing(15, [0, 1])], ["5 bytes", closing(15, [0, 0, 0, 1, 0])],
      ["on code 7", closing(7, [0, 0, 0, 1])], ["on code 17", closing(17, [0, 0, 0, 1])]]) {
      let threw = false;
      try {
        decodeServerMessage(bytes);
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`a closing with ${what} was accepted`);
    }
    const failure = failureOf(() => machineIn("awaitingAcceptance").receive({ type: "closing", code: 15, message: "evicted", retryMs: 5 }));
    expectEqual(failure.closing, { code: 15, message: "evicted", retryMs: 5 }, "the handshake keeps retry_ms");
  },
  handshake_answers: () => {
    const machine = machineIn("awaitingPasswordPrompt");
    expectEqual(machine.receive(serverMessages.passwordPrompt), [{ type: "send", message: { type: "password", password: "pw" } }], "password");
    expectEqual(machine.receive(serverMessages.namePrompt), [{ type: "send", message: { type: "name", name: "Ada" } }], "name");
    expectEqual(machine.receive(serverMessages.accepted), [{ type: "accepted", acceptance: { connectionId: 7n, serverName: "Lab", services: ["echo", "chat"] } }], "accepted");
  },
  handshake_closing_in_every_step: () => {
    for (const [phase, step] of [["awaitingPasswordPrompt", "keyExchange"], ["awaitingNamePrompt", "password"], ["awaitingAcceptance", "name"]]) {
      const failure = failureOf(() => machineIn(phase).receive({ type: "closing", code: 6, message: "wrong password" }));
      expectEqual([failure.kind, failure.step, failure.closing], ["closedByServer", step, { code: 6, message: "wrong password" }], phase);
    }
  },
  handshake_unopenable: () => {
    const plaintextClosing = Uint8Array.of(0x04, 0x00, 0x05, 0x00, 0x02, 0x68, 0x69);
    let failure = failureOf(() => machineIn("awaitingPasswordPrompt").receiveUnopenable(plaintextClosing));
    expectEqual([failure.kind, failure.closing], ["closedByServer", { code: 5, message: "hi" }], "plaintext closing before the password prompt");
    failure = failureOf(() => machineIn("awaitingNamePrompt").receiveUnopenable(plaintextClosing));
    expectEqual(failure.kind, "decryptionFailed", "a plaintext closing later is not believed");
    failure = failureOf(() => machineIn("awaitingPasswordPrompt").receiveUnopenable(new Uint8Array(40)));
    expectEqual(failure.kind, "decryptionFailed", "garbage");
  },
  session_requests_and_renames: () => {
    const session = new SessionMachine({ connectionId: 1n, serverName: "Lab", services: [] });
    const first = session.request("echo", utf8("a"));
    const rename = session.rename("Bob");
    const second = session.request("echo", utf8("b"));
    expectEqual([first.id, rename.id, second.id], [1n, 2n, 3n], "one counter for requests and renames");
    const answer = (id) => session.receive({ ...serverMessages.response, requestId: id }, () => new Uint8Array(32));
    expectEqual(answer(3n).map((a) => [a.type, a.id, a.kind]), [["response", 3n, "request"]], "out of order");
    expectEqual(answer(2n).map((a) => [a.type, a.id, a.kind]), [["response", 2n, "rename"]], "the rename's");
    expectEqual(answer(2n), [], "a response to nothing outstanding is ignored");
    expectEqual(answer(1n).length, 1, "the first");
  },
  session_rejects_handshake_messages: () => {
    const session = new SessionMachine({ connectionId: 1n, serverName: "Lab", services: [] });
    for (const name of ["passwordPrompt", "namePrompt", "accepted"]) {
      let threw = false;
      try {
        session.receive(serverMessages[name], () => new Uint8Array(32));
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`${name} accepted in a session`);
    }
  },
  session_closing_is_last: () => {
    const session = new SessionMachine({ connectionId: 1n, serverName: "Lab", services: [] });
    expectEqual(session.receive({ type: "closing", code: 9, message: "bye" }, null), [{ type: "closed", code: 9, message: "bye" }], "closing");
    for (const message of [serverMessages.keyUpdate, serverMessages.ping]) {
      let threw = false;
      try {
        session.receive(message, () => new Uint8Array(32));
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`${message.type} after closing accepted`);
    }
    let threw = false;
    try {
      session.request("echo", new Uint8Array());
    } catch {
      threw = true;
    }
    if (!threw) throw new Error("a request after closing");
  },
  messages_sizes: () => {
    // A password of 1,024 bytes sealed fits the 4,096-byte handshake limit (§3).
    expectEqual(encodeClientMessage({ type: "password", password: "x".repeat(1024) }).length + 16, 1043, "longest password frame");
    // Over-long text is cut on a code point boundary.
    const cut = encodeClientMessage({ type: "name", name: "é".repeat(40000) });
    expectEqual([cut.length, cut[1] * 256 + cut[2]], [3 + 65534, 65534], "cut on a boundary");
  },
  pin_store: () => {
    const memory = new Map();
    const storage = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, v) };
    const store = new PinStore(storage);
    const endpoint = endpointOf("WS://LocalHost:8080/v1/ws?x=1#y");
    expectEqual(endpoint, "ws://localhost:8080/v1/ws", "endpoint");
    expectEqual(store.check(endpoint, "SHA256:a"), { status: "unknown" }, "unknown");
    store.pin(endpoint, "SHA256:a");
    expectEqual(store.check(endpoint, "SHA256:a"), { status: "trusted" }, "trusted");
    expectEqual(store.check(endpoint, "SHA256:b"), { status: "mismatch", pinned: "SHA256:a" }, "mismatch");
    expectEqual(store.check("ws://127.0.0.1:8080/v1/ws", "SHA256:b"), { status: "unknown" }, "another endpoint");
    memory.set("laboratory.pinnedKeys", "not json");
    expectEqual(store.check(endpoint, "SHA256:a"), { status: "unknown" }, "a damaged store trusts nothing");
  },
  display_names: () => {
    expectEqual(displayNameProblem("Ada"), null, "plain");
    expectEqual(displayNameProblem("é".repeat(32)), null, "32 characters");
    expectEqual(displayNameProblem("e\u0301".repeat(32)), null, "32 characters of two code points");
    expectEqual(displayNameProblem("a".repeat(33)), "display name is longer than 32 characters", "33");
    expectEqual(displayNameProblem(""), "display name is empty", "empty");
    expectEqual(displayNameProblem(" Ada"), "display name starts or ends with whitespace", "leading");
    expectEqual(displayNameProblem("Ada\u00a0"), "display name starts or ends with whitespace", "trailing no-break space");
    expectEqual(displayNameProblem("A\u200bda"), "display name contains a control, format or unassigned character (U+200B)", "format");
    expectEqual(displayNameProblem("A\u0007"), "display name contains a control, format or unassigned character (U+0007)", "control");
    expectEqual(displayNameProblem("\ue000"), "display name contains a control, format or unassigned character (U+E000)", "private use");
  },
  display_text: () => {
    expectEqual(displayText("plain ✓ text"), "plain ✓ text", "plain");
    expectEqual(displayText("a\u202eb\u0000c\nd\te"), "a\\u{202E}b\\u{0}c\\u{A}d e", "controls and overrides");
  },
  room_names: () => {
    expectEqual(roomNameProblem("lobby"), null, "lobby");
    expectEqual(roomNameProblem("Lobby"), 'room "Lobby": room names use only lowercase a-z, 0-9, - and _', "upper case");
    expectEqual(roomNameProblem(""), "room names are 1 to 32 characters", "empty");
  },
  chat_json_double_range: () => {
    // PROTOCOL.md §17: an integer beyond a double's range (from 2^1024 − 2^970 on) is refused at
    // its first byte, at any depth, as the server refuses it (Swift's StrictJSONTests.doubleRange).
    const threshold = (2n ** 1024n - 2n ** 970n).toString();
    expectEqual(threshold.length, 309, "the threshold's digits");
    const below = (2n ** 1024n - 2n ** 970n - 1n).toString();
    const cases = [
      ["9".repeat(308), true], [below, true], [`-${below}`, true], [threshold, false], [`-${threshold}`, false],
      ["9".repeat(309), false], ["5".repeat(310), false], [`-${"1".repeat(10_000)}`, false],
    ];
    for (const [digits, accepted] of cases) {
      for (const body of [`{"a":${digits}}`, `{"op":"rooms","x":[1,{"y":${digits}}]}`]) {
        const what = `${digits.length} characters in ${body.slice(0, 8)}`;
        const event = utf8(`{"kind":"message","from":1,"name":"Ada","room":"r","sequence":1,"n":${body}}`);
        if (accepted) {
          const value = parseChatJson(utf8(body));
          expectEqual(value.a ?? value.x[1].y, Number(digits), what);
          expectEqual(parseChatEvent(event)?.kind, "message", `${what}, as an event`);
          continue;
        }
        let refused = null;
        try {
          parseChatJson(utf8(body));
        } catch (error) {
          refused = error;
        }
        if (!(refused instanceof ProtocolError)) throw new Error(`${what}: not refused (${refused})`);
        const offset = body.length - digits.length - (body.endsWith("}]}") ? 3 : 1);
        expectEqual(refused.message, `an integer beyond a double's range at byte ${offset}`, what);
        expectEqual(parseChatEvent(event), null, `${what}, as an event`);
      }
    }
    // Digits inside strings (after escaped quotes too) are text, not numbers; offsets are bytes.
    expectEqual(parseChatJson(utf8(`{"t":"\\\\\\"${"5".repeat(400)}"}`)).t, `\\"${"5".repeat(400)}`, "digits in a string");
    expectEqual(parseChatJson(utf8(`{"t":"é","n":${below}}`)).n, Number(below), "after non-ASCII text");
    let refused = null;
    try {
      parseChatJson(utf8(`{"t":"é","n":${threshold}}`));
    } catch (error) {
      refused = error;
    }
    expectEqual(refused?.message, "an integer beyond a double's range at byte 14", "a byte offset, not a character's");
  },
  backoff: () => {
    expectEqual([0, 1, 2, 3].map((n) => backoffDelay(n, { random: () => 0.999999 })), [1000, 2000, 4000, 8000], "doubling");
    expectEqual(backoffDelay(0, { random: () => 0 }), 500, "jitter floor");
    expectEqual(backoffDelay(50, { random: () => 0.999999 }), MAX_DELAY_MS, "ceiling");
    expectEqual(backoffDelay(0, { refused: true, random: () => 0 }), REFUSED_MIN_DELAY_MS, "refused waits");
    expectEqual([1, 6, 7, 9, 12, 15, 16, 17].map(isRetryable), [false, false, false, true, true, true, true, false], "retryable codes");
    expectEqual([CloseCode.kicked, closeCodeName(17)], [17, "kicked"], "code 17");
    // A lockout's retry_ms is a floor on the wait, whatever the backoff says.
    expectEqual(backoffDelay(0, { refused: true, retryMs: 270_000, random: () => 0.999999 }), 270_000, "retry_ms floor");
    expectEqual(backoffDelay(3, { refused: true, retryMs: 1, random: () => 0 }), REFUSED_MIN_DELAY_MS, "a short retry_ms");
    expectEqual([270_000, 269_001, 45_000, 1, 0, 3_725_000].map(formatDuration), ["4m 30s", "4m 30s", "45s", "1s", "0s", "1h 2m 5s"], "durations");
  },
};

async function runUnits() {
  const results = [];
  for (const [name, check] of Object.entries(checks)) {
    try {
      await check();
      results.push({ name, ok: true, detail: "" });
    } catch (error) {
      results.push({ name, ok: false, detail: String(error?.stack ?? error) });
    }
  }
  const body = document.getElementById("results");
  body.replaceChildren(...results.map((r) => {
    const row = document.createElement("tr");
    row.dataset.ok = String(r.ok);
    for (const text of [r.name, r.ok ? "pass" : "FAIL", r.detail]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  document.getElementById("summary").textContent = `${results.filter((r) => r.ok).length} of ${results.length} checks passed`;
  return results;
}

window.runUnits = runUnits;
window.unitsReady = true;
