// The page: DOM and user interaction only. The protocol lives in lib/ (the Connection drives the
// handshake and session machines); this file turns the user's input into calls and the
// connection's events into text on the page, and reconnects after a lost connection.
import { backoffDelay, formatDuration } from "./lib/backoff.js";
import { fromUtf8 } from "./lib/bytes.js";
import { Chat, CHAT_SERVICE, ChatError, parseChatEvent, roomNameProblem } from "./lib/chat.js";
import { CloseCode, closeCodeName, Status } from "./lib/codes.js";
import { Connection } from "./lib/connection.js";
import { displayNameProblem, displayText } from "./lib/names.js";
import { endpointOf, PinStore } from "./lib/trust.js";
import { addLine, hideFingerprint, notice, renderMembers, renderRooms, setStatus, showFingerprint } from "./view.js";

const $ = (id) => document.getElementById(id);
const pins = new PinStore();
const NAME_KEY = "laboratory.displayName";
const URL_KEY = "laboratory.serverUrl";

/** What the page is doing; one object, replaced only through the functions below. */
const state = {
  wanted: null, // { url, name, password } while the user wants to be connected
  connection: null,
  chat: null,
  attempt: 0,
  retryTimer: null,
  countdown: null, // the interval showing a lockout's remaining time
  rooms: new Map(), // room → { lastSequence, members: Map(id → name) }
  currentRoom: null,
  keyUpdates: { send: 0, receive: 0 },
};

// ---- Start ------------------------------------------------------------------------------------

function defaultServerUrl() {
  const parameters = new URLSearchParams(location.search);
  if (parameters.get("ws")) return parameters.get("ws");
  if (localStorage.getItem(URL_KEY)) return localStorage.getItem(URL_KEY);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/ws`;
}

function init() {
  $("server-url").value = defaultServerUrl();
  $("display-name").value = new URLSearchParams(location.search).get("name") ?? localStorage.getItem(NAME_KEY) ?? "";
  if (!window.isSecureContext || !globalThis.crypto?.subtle) {
    $("insecure").hidden = false;
    $("connect-button").disabled = true;
  }
  $("connect-form").addEventListener("submit", onConnect);
  $("disconnect-button").addEventListener("click", disconnect);
  $("trust-button").addEventListener("click", onTrust);
  $("trust-cancel").addEventListener("click", () => {
    $("trust-prompt").hidden = true;
    state.wanted = null;
    setStatus("Not connected: the server's key was not trusted.");
    updateButtons();
  });
  $("forget-pin").addEventListener("click", onForgetPin);
  $("join-form").addEventListener("submit", onJoin);
  $("leave-button").addEventListener("click", onLeave);
  $("message-form").addEventListener("submit", onSay);
  $("rename-form").addEventListener("submit", onRename);
  $("rekey-button").addEventListener("click", () => state.connection?.rekey());
  $("name-retry-form").addEventListener("submit", onRetryName);
  $("name-give-up").addEventListener("click", () => {
    $("name-retry").hidden = true;
    state.connection?.giveUpName();
  });
  document.body.dataset.state = "idle";
}

// ---- Connecting -------------------------------------------------------------------------------

function onConnect(event) {
  event.preventDefault();
  const url = $("server-url").value.trim();
  const name = $("display-name").value;
  const password = $("password").value;
  let endpoint;
  try {
    endpoint = endpointOf(url);
    if (!/^wss?:$/.test(new URL(url).protocol)) throw new Error();
  } catch {
    return showProblem("The server is a WebSocket URL such as ws://127.0.0.1:8080/v1/ws.");
  }
  const problem = displayNameProblem(name);
  if (problem) return showProblem(`Not connecting: ${problem}.`);
  localStorage.setItem(NAME_KEY, name);
  localStorage.setItem(URL_KEY, url);
  $("password").value = ""; // kept in memory only, for reconnecting
  state.wanted = { url, name, password, endpoint };
  $("close-reason").hidden = true;
  state.attempt = 0;
  state.rooms.clear();
  state.currentRoom = null;
  renderRooms(state);
  $("messages").replaceChildren();
  connect();
}

function connect(acceptFingerprint = null) {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdown);
  const wanted = state.wanted;
  if (!wanted) return;
  $("trust-prompt").hidden = true;
  $("key-alert").hidden = true;
  setStatus(state.attempt > 0 ? `Reconnecting to ${wanted.endpoint} (attempt ${state.attempt})…` : `Connecting to ${wanted.endpoint}…`);
  document.body.dataset.state = "connecting";
  let connection;
  try {
    connection = new Connection({ url: wanted.url, password: wanted.password, name: wanted.name, pins, acceptFingerprint });
  } catch (error) {
    return showProblem(error.message);
  }
  state.connection = connection;
  // The header shows a key only once it is trusted; an unknown or changed key is shown in its own
  // prompt or alert instead.
  connection.addEventListener("hello", (e) => (e.detail.pin === "trusted" ? showFingerprint(e.detail.fingerprint) : hideFingerprint()));
  connection.addEventListener("accepted", (e) => onAccepted(connection, e.detail));
  connection.addEventListener("event", (e) => onEvent(e.detail));
  connection.addEventListener("keyUpdate", (e) => {
    state.keyUpdates[e.detail.direction] += 1;
    $("key-updates").textContent = `Key updates: sent ${state.keyUpdates.send}, received ${state.keyUpdates.receive}.`;
  });
  connection.addEventListener("serverStopping", (e) => notice(`The server is stopping; this session ends in ${Math.round(e.detail.graceMs / 1000)} s.`));
  connection.addEventListener("nameRejected", (e) => onNameRejected(connection, e.detail));
  connection.addEventListener("closed", (e) => onClosed(connection, e.detail));
  connection.open();
  updateButtons();
}

function onTrust() {
  const fingerprint = $("new-fingerprint").textContent;
  $("trust-prompt").hidden = true;
  connect(fingerprint); // pinned when the server offers exactly this key again
}

function onForgetPin() {
  const endpoint = $("alert-endpoint").textContent;
  if (!window.confirm(`Forget the pinned key for ${endpoint}? The next connection will show the new key for you to check.`)) return;
  pins.forget(endpoint);
  $("key-alert").hidden = true;
  setStatus(`The pinned key for ${endpoint} is forgotten.`);
}

function disconnect() {
  state.wanted = null;
  clearTimeout(state.retryTimer);
  clearInterval(state.countdown);
  $("name-retry").hidden = true;
  if (state.connection && !state.connection.ended) state.connection.bye();
  else setStatus("Not connected.");
  updateButtons();
}

async function onAccepted(connection, { acceptance, fingerprint }) {
  state.attempt = 0;
  state.chat = new Chat(connection);
  $("close-reason").hidden = true;
  document.body.dataset.state = "accepted";
  setStatus(`Connected to ${acceptance.serverName} as ${state.wanted?.name}.`);
  showFingerprint(fingerprint);
  $("server-name").textContent = displayText(acceptance.serverName);
  $("own-name").textContent = displayText(state.wanted?.name ?? "");
  $("connection-id").textContent = String(acceptance.connectionId);
  $("services").textContent = acceptance.services.map(displayText).join(", ");
  $("chat").hidden = false;
  updateButtons();
  // After a reconnection, rejoin every room, resuming after the last event seen (§17 replay).
  for (const [room, info] of state.rooms) {
    try {
      await joinRoom(room, info.lastSequence);
    } catch (error) {
      notice(`Could not rejoin ${room}: ${error.message}`);
    }
  }
}

/** The server refused the display name and will consider another (§9): the user types one (checked
 * here first, like the connect form's) or gives up. */
function onNameRejected(connection, { reason, attemptsLeft }) {
  if (connection !== state.connection) return;
  const more = `${attemptsLeft} more ${attemptsLeft === 1 ? "attempt" : "attempts"}`;
  $("name-rejected-reason").textContent = displayText(`The server refused the name: ${reason} (${more}).`);
  $("name-retry-problem").textContent = "";
  $("retry-name").value = state.wanted?.name ?? "";
  $("name-retry").hidden = false;
  setStatus(`The server refused the display name: ${displayText(reason)}. Choose another.`);
  document.body.dataset.state = "nameRejected";
  $("retry-name").focus();
}

function onRetryName(event) {
  event.preventDefault();
  const name = $("retry-name").value;
  const problem = displayNameProblem(name);
  if (problem) {
    $("name-retry-problem").textContent = `Not sent: ${problem}.`;
    return;
  }
  try {
    state.connection.retryName(name);
  } catch (error) {
    $("name-retry-problem").textContent = `Not sent: ${error.message}.`;
    return;
  }
  $("name-retry").hidden = true;
  if (state.wanted) state.wanted.name = name;
  localStorage.setItem(NAME_KEY, name);
  $("display-name").value = name;
  document.body.dataset.state = "connecting";
  setStatus(`Trying the name ${displayText(name)}…`);
}

function onClosed(connection, reason) {
  if (connection !== state.connection) return;
  $("name-retry").hidden = true;
  state.chat = null;
  document.body.dataset.state = "closed";
  updateButtons();
  if (reason.unknownKey) {
    $("new-fingerprint").textContent = reason.unknownKey.fingerprint;
    $("trust-prompt").hidden = false;
    setStatus("Check the server's key before connecting.");
    $("trust-button").focus();
    return;
  }
  if (reason.mismatch) {
    state.wanted = null;
    $("alert-endpoint").textContent = reason.mismatch.endpoint;
    $("pinned-fingerprint").textContent = reason.mismatch.pinned;
    $("offered-fingerprint").textContent = reason.mismatch.offered;
    $("key-alert").hidden = false;
    setStatus(`Refused: the server's key changed (pinned ${reason.mismatch.pinned}, offered ${reason.mismatch.offered}).`);
    updateButtons();
    return;
  }
  const code = reason.code === null ? "" : ` (code ${reason.code}, ${closeCodeName(reason.code)})`;
  const text = `${reason.origin === "server" ? "The server closed the session" : "The session ended"}${code}: ${reason.message}`;
  $("close-reason").textContent = displayText(text);
  $("close-reason").hidden = false;
  if (reason.code === CloseCode.kicked) {
    // Final (§12): never reconnected automatically; the operator's reason is shown as it came.
    state.wanted = null;
    setStatus(`Not connected: removed by the server's operator: ${displayText(reason.message)}`);
    updateButtons();
    return;
  }
  const lockedUntil = reason.retryMs ? Date.now() + reason.retryMs : null;
  const lockout = () => `Locked out: try again in ${formatDuration(Math.max(0, lockedUntil - Date.now()))}`;
  if (!state.wanted || reason.code === CloseCode.normal || !reason.retryable) {
    state.wanted = null;
    setStatus(lockedUntil ? `${lockout()}.` : "Not connected.");
    updateButtons();
    return;
  }
  // Never before a lockout's retry_ms has passed (§9, Admission): an earlier attempt is refused again.
  const delay = backoffDelay(state.attempt++, { refused: reason.code === CloseCode.refused, retryMs: reason.retryMs ?? 0 });
  const again = `econnecting in ${formatDuration(delay)} (attempt ${state.attempt})`;
  notice(`${text}. ${lockedUntil ? `${lockout()}; r` : "R"}${again}.`);
  document.body.dataset.state = "reconnecting";
  if (lockedUntil) {
    const reconnectAt = Date.now() + delay;
    const show = () => setStatus(`${lockout()}; reconnecting in ${formatDuration(Math.max(0, reconnectAt - Date.now()))} (attempt ${state.attempt}).`);
    show();
    clearInterval(state.countdown);
    state.countdown = setInterval(show, 1000);
  } else {
    setStatus(`Connection lost; r${again}.`);
  }
  state.retryTimer = setTimeout(() => connect(), delay);
}

// ---- Chat -------------------------------------------------------------------------------------

async function joinRoom(room, after = undefined) {
  // The room is wanted from the moment it is asked for: if the connection drops before the reply,
  // the reconnection joins it. Only the server's refusal forgets it.
  const info = state.rooms.get(room) ?? { lastSequence: undefined, members: new Map() };
  state.rooms.set(room, info);
  let reply;
  try {
    reply = await state.chat.join(room, after);
  } catch (error) {
    if (error instanceof ChatError) {
      state.rooms.delete(room);
      if (state.currentRoom === room) state.currentRoom = null;
      renderRooms(state);
    }
    throw error;
  }
  info.members = new Map((reply.members ?? []).map((m) => [String(m.id), m.name]));
  if (typeof reply.next === "string") {
    for (const m of await state.chat.who(room)) info.members.set(String(m.id), m.name);
  }
  if (after !== undefined && typeof reply.sequence === "number" && reply.sequence <= after) {
    notice(`Room ${room} was created anew on the server; its earlier messages are gone.`);
  }
  if (reply.missedFrom !== undefined) notice(`Missed events ${reply.missedFrom} to ${reply.missedTo} in ${room}.`);
  if (typeof reply.sequence === "number") info.lastSequence = Math.max(info.lastSequence ?? 0, reply.sequence);
  if (state.currentRoom === null) state.currentRoom = room;
  renderRooms(state);
}

async function onJoin(event) {
  event.preventDefault();
  const room = $("room-name").value.trim();
  const problem = roomNameProblem(room);
  if (problem) return notice(problem);
  try {
    await joinRoom(room);
    state.currentRoom = room;
    $("room-name").value = "";
    renderRooms(state);
    $("message-text").focus();
  } catch (error) {
    notice(`Could not join ${room}: ${error.message}`);
  }
}

async function onLeave() {
  const room = state.currentRoom;
  if (!room) return;
  try {
    await state.chat.leave(room);
  } catch (error) {
    notice(`Could not leave ${room}: ${error.message}`);
  }
  state.rooms.delete(room);
  state.currentRoom = state.rooms.keys().next().value ?? null;
  renderRooms(state);
}

async function onSay(event) {
  event.preventDefault();
  const input = $("message-text");
  const text = input.value;
  if (!text || !state.chat) return;
  try {
    if (state.currentRoom) await state.chat.say(state.currentRoom, text);
    else {
      const response = await state.connection.request("echo", new TextEncoder().encode(text));
      addLine("notice", `echo: ${fromUtf8(response.body)}`);
    }
    input.value = "";
  } catch (error) {
    notice(`Not sent: ${error.message}`);
  }
}

async function onRename(event) {
  event.preventDefault();
  const name = $("new-name").value;
  const problem = displayNameProblem(name);
  if (problem) return notice(`Not renamed: ${problem}.`);
  try {
    const response = await state.connection.rename(name);
    if (response.status !== Status.ok) return notice(`Not renamed: ${response.errorMessage}`);
    state.wanted.name = name;
    localStorage.setItem(NAME_KEY, name);
    $("display-name").value = name;
    $("own-name").textContent = displayText(name);
    $("new-name").value = "";
    notice(`You are now ${name}.`);
  } catch (error) {
    notice(`Not renamed: ${error.message}`);
  }
}

function onEvent({ service, body }) {
  if (service !== CHAT_SERVICE) return addLine("notice", `${displayText(service)} event (${body.length} bytes)`);
  const event = parseChatEvent(body);
  if (!event) return;
  const info = event.room === undefined ? null : state.rooms.get(event.room);
  if (info && typeof event.sequence === "number") info.lastSequence = Math.max(info.lastSequence ?? 0, event.sequence);
  const who = displayText(String(event.name ?? "?"));
  const where = event.room === undefined ? "" : `[${event.room}] `;
  switch (event.kind) {
    case "message":
      addLine("message", event.text ?? "", `${where}${who}`, event);
      break;
    case "direct":
      addLine("direct", event.text ?? "", `(direct) ${who}`, event);
      break;
    case "joined":
      info?.members.set(String(event.from), event.name);
      addLine("notice", `${where}${who} joined`, null, event);
      break;
    case "left":
      info?.members.delete(String(event.from));
      addLine("notice", `${where}${who} left`, null, event);
      break;
    case "renamed":
      info?.members.set(String(event.from), event.name);
      addLine("notice", `${where}${displayText(String(event.oldName ?? "?"))} is now ${who}`, null, event);
      break;
    default:
      return;
  }
  renderMembers(state);
}

function showProblem(text) {
  setStatus(text);
}

function updateButtons() {
  const active = state.wanted !== null;
  $("connect-button").disabled = active || !globalThis.crypto?.subtle;
  $("disconnect-button").disabled = !active;
  if (!state.connection?.isAccepted) {
    for (const id of ["rekey-button"]) $(id).disabled = true;
  } else {
    $("rekey-button").disabled = false;
  }
}

init();
