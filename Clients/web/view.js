// What the page shows: the message log, the room and member lists, the status line and the
// server's fingerprint. Text from the network goes through displayText and textContent only.
import { displayText } from "./lib/names.js";

const $ = (id) => document.getElementById(id);

export function addLine(kind, text, from = null, event = null) {
  const item = document.createElement("li");
  item.className = kind === "notice" ? "notice" : kind;
  item.dataset.kind = event?.kind ?? kind;
  if (event?.room) item.dataset.room = event.room;
  if (from !== null) {
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = `${from}: `;
    item.append(name);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = displayText(text);
  item.append(body);
  const log = $("messages");
  log.append(item);
  while (log.children.length > 1000) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

export function notice(text) {
  addLine("notice", text);
}

export function renderRooms(state) {
  const list = $("rooms");
  list.replaceChildren();
  for (const room of state.rooms.keys()) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = room;
    button.dataset.room = room;
    button.setAttribute("aria-current", String(room === state.currentRoom));
    button.addEventListener("click", () => {
      state.currentRoom = room;
      renderRooms(state);
    });
    item.append(button);
    list.append(item);
  }
  $("current-room").textContent = state.currentRoom ?? "none (messages go to the echo service)";
  $("leave-button").disabled = state.currentRoom === null;
  renderMembers(state);
}

export function renderMembers(state) {
  const list = $("members");
  list.replaceChildren();
  const info = state.currentRoom ? state.rooms.get(state.currentRoom) : null;
  for (const [id, name] of info?.members ?? []) {
    const item = document.createElement("li");
    item.dataset.id = id;
    item.textContent = displayText(name);
    list.append(item);
  }
}

export function showFingerprint(fingerprint) {
  $("fingerprint").textContent = fingerprint;
  $("server-identity").hidden = false;
}

export function hideFingerprint() {
  $("server-identity").hidden = true;
}

export function setStatus(text) {
  $("status").textContent = text;
}
