"""The Laboratory desktop client window (tkinter)."""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Any, Callable

from ..chat import ChatEvent, ChatMember, ChatReply
from ..events import ServerStopping, ServiceEvent
from ..names import display_name_problem
from ..resume import HistoryGap, NumberingRestarted
from ..session import Session
from .commands import HELP, parse_line
from .settings import Settings
from .text import clean
from .trust_dialog import TrustDialog
from .worker import NetworkWorker

POLL_MS = 40
COLOURS = {"sent": "#1d4ed8", "received": "#15803d", "info": "#6b7280", "error": "#b91c1c"}
INVALID_BACKGROUND = "#fde2e2"

# Asks whether to trust a key seen for the first time: (host, port, fingerprint, answer) where
# answer(bool) is called later, from the UI thread. The default shows a TrustDialog.
TrustPrompt = Callable[[str, int, str, Callable[[bool], None]], None]


def validate_host(host: str) -> str | None:
    if not host:
        return "enter the server's host name or address"
    if any(c.isspace() for c in host):
        return "the host contains spaces"
    return None


def validate_port(text: str) -> str | None:
    if not text.isdigit() or not 0 < int(text) < 65536:
        return "the port is a number from 1 to 65535"
    return None


class LaboratoryWindow:
    def __init__(
        self,
        root: tk.Tk,
        *,
        settings_path: Path | None = None,
        known_hosts_path: Path | None = None,
        trust_prompt: TrustPrompt | None = None,
    ) -> None:
        self.root = root
        self.settings_path = settings_path
        self.settings = Settings.load(settings_path)
        self.worker = NetworkWorker(known_hosts_path)
        self.trust_prompt = trust_prompt or self._ask_with_dialog
        self.trust_dialog: TrustDialog | None = None
        self.state = "disconnected"  # disconnected, connecting, connected, disconnecting
        self.session: Session | None = None
        self.rooms: list[str] = []  # joined rooms, the current one last
        self.members: dict[str, dict[int, str]] = {}  # room -> id -> name
        self._pending_password = ""
        self._build()
        self._set_state("disconnected")
        self.log("info", "Welcome. Fill in the server and your name, then Connect. /help lists the commands.")
        self.root.protocol("WM_DELETE_WINDOW", self.quit)
        self.root.after(POLL_MS, self._poll)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        root = self.root
        root.title("Laboratory")
        root.geometry("820x520")
        root.minsize(600, 360)

        form = ttk.Frame(root, padding=(8, 8, 8, 4))
        form.pack(fill="x")
        self.host_var = tk.StringVar(value=self.settings.host)
        self.port_var = tk.StringVar(value=str(self.settings.port))
        self.name_var = tk.StringVar(value=self.settings.name)
        self.password_var = tk.StringVar()
        self.fields: dict[str, tk.Entry] = {}
        for column, (label, variable, width, options) in enumerate(
            [
                ("Host", self.host_var, 18, {}),
                ("Port", self.port_var, 6, {}),
                ("Name", self.name_var, 16, {}),
                ("Password", self.password_var, 16, {"show": "\u2022"}),
            ]
        ):
            ttk.Label(form, text=label).grid(row=0, column=2 * column, padx=(0 if column == 0 else 8, 4))
            entry = tk.Entry(form, textvariable=variable, width=width, **options)
            entry.grid(row=0, column=2 * column + 1, sticky="ew")
            self.fields[label.lower()] = entry
            variable.trace_add("write", lambda *_: self._validate_fields(quiet=True))
        form.columnconfigure(1, weight=1)
        self.connect_button = ttk.Button(form, text="Connect", command=self.toggle_connection, width=12)
        self.connect_button.grid(row=0, column=8, padx=(10, 0))
        self.fields["password"].bind("<Return>", lambda _: self.toggle_connection())
        self._normal_background = self.fields["host"].cget("background")

        self.status_var = tk.StringVar()
        ttk.Label(root, textvariable=self.status_var, padding=(8, 0)).pack(fill="x")

        body = ttk.PanedWindow(root, orient="horizontal")
        body.pack(fill="both", expand=True, padx=8, pady=4)
        log_frame = ttk.Frame(body)
        self.log_text = tk.Text(log_frame, wrap="word", state="disabled", height=20, width=70)
        scrollbar = ttk.Scrollbar(log_frame, command=self.log_text.yview)
        self.log_text.configure(yscrollcommand=scrollbar.set)
        self.log_text.pack(side="left", fill="both", expand=True)
        scrollbar.pack(side="right", fill="y")
        for style, colour in COLOURS.items():
            self.log_text.tag_configure(style, foreground=colour)
        self.log_text.tag_configure("error", foreground=COLOURS["error"], font=("TkDefaultFont", 10, "bold"))
        body.add(log_frame, weight=4)

        side = ttk.Frame(body)
        self.room_label = tk.StringVar(value="Members")
        ttk.Label(side, textvariable=self.room_label).pack(anchor="w")
        self.member_list = tk.Listbox(side, width=22, activestyle="none")
        self.member_list.pack(fill="both", expand=True)
        body.add(side, weight=1)

        bottom = ttk.Frame(root, padding=(8, 0, 8, 8))
        bottom.pack(fill="x")
        self.prompt_var = tk.StringVar(value="echo>")
        ttk.Label(bottom, textvariable=self.prompt_var).pack(side="left")
        self.message_entry = tk.Entry(bottom)
        self.message_entry.pack(side="left", fill="x", expand=True, padx=6)
        self.message_entry.bind("<Return>", lambda _: self.send_line())
        self.send_button = ttk.Button(bottom, text="Send", command=self.send_line)
        self.send_button.pack(side="right")

    # ------------------------------------------------------------------ helpers

    def log(self, style: str, text: str) -> None:
        """Appends a line; ``text`` must already be cleaned if it came from the network."""
        self.log_text.configure(state="normal")
        self.log_text.insert("end", text + "\n", style)
        self.log_text.configure(state="disabled")
        self.log_text.see("end")

    def log_lines(self) -> list[tuple[str, str]]:
        """(style, text) of every log line, for tests."""
        lines = []
        for style in COLOURS:
            ranges = self.log_text.tag_ranges(style)
            for start, end in zip(ranges[0::2], ranges[1::2]):
                for offset, text in enumerate(self.log_text.get(start, end).rstrip("\n").split("\n")):
                    lines.append((f"{int(str(start).split('.')[0]) + offset}.0", style, text))
        lines.sort(key=lambda item: tuple(int(part) for part in item[0].split(".")))
        return [(style, text) for _, style, text in lines]

    def _set_state(self, state: str) -> None:
        self.state = state
        labels = {"disconnected": "Connect", "connecting": "Connecting\u2026", "connected": "Disconnect",
                  "disconnecting": "Disconnecting\u2026"}
        self.connect_button.configure(text=labels[state])
        busy = state in ("connecting", "disconnecting")
        self.connect_button.state(["disabled"] if busy else ["!disabled"])
        editable = "normal" if state == "disconnected" else "disabled"
        for entry in self.fields.values():
            entry.configure(state=editable)
        connected = state == "connected"
        self.message_entry.configure(state="normal" if connected else "disabled")
        self.send_button.state(["!disabled"] if connected else ["disabled"])
        if state == "disconnected":
            self.status_var.set("Not connected")
            self.rooms.clear()
            self.members.clear()
            self._show_members()
        if state == "disconnected":
            self._validate_fields(quiet=True)

    def _validate_fields(self, quiet: bool) -> list[str]:
        problems = {
            "host": validate_host(self.host_var.get().strip()),
            "port": validate_port(self.port_var.get().strip()),
            "name": display_name_problem(self.name_var.get()),
        }
        for field, problem in problems.items():
            self.fields[field].configure(background=INVALID_BACKGROUND if problem else self._normal_background)
        messages = [problem for problem in problems.values() if problem]
        if not quiet:
            for message in messages:
                self.log("error", f"Cannot connect: {message}")
        return messages

    # ------------------------------------------------------------------ connecting

    def toggle_connection(self) -> None:
        if self.state == "connected":
            self._set_state("disconnecting")
            self.worker.disconnect()
        elif self.state == "disconnected":
            self.connect()

    def connect(self) -> None:
        if self._validate_fields(quiet=False):
            return
        host, port = self.host_var.get().strip(), int(self.port_var.get().strip())
        self._pending_password = self.password_var.get()
        self._set_state("connecting")
        self.status_var.set(f"Connecting to {host}:{port}\u2026")
        self.log("info", f"Connecting to {host}:{port} as {self.name_var.get()}\u2026")
        self.worker.connect(host, port, self._pending_password, self.name_var.get())

    def _ask_with_dialog(self, host: str, port: int, fingerprint: str, answer: Callable[[bool], None]) -> None:
        def finished(trusted: bool) -> None:
            self.trust_dialog = None
            answer(trusted)

        self.trust_dialog = TrustDialog(self.root, f"{host}:{port}", fingerprint, self.worker.known_hosts.path, finished)

    def _on_unknown_key(self, host: str, port: int, fingerprint: str) -> None:
        self.log("info", f"First contact with {host}:{port}. Its server key fingerprint is {fingerprint}")

        def answer(trusted: bool) -> None:
            if not trusted:
                self.log("error", "The server key was not trusted; nothing was sent.")
                self._set_state("disconnected")
                return
            self.worker.trust(host, port, fingerprint)
            self.log("info", f"Trusted and recorded {fingerprint} in {self.worker.known_hosts.path}")
            self.worker.connect(host, port, self._pending_password, self.name_var.get())

        self.trust_prompt(host, port, fingerprint, answer)

    def _on_connected(self, session: Session) -> None:
        self.session = session
        self._pending_password = ""
        self._set_state("connected")
        self._show_status()
        self.log("info", f"Connected as {self.name_var.get()} (#{session.connection_id}); "
                 f"server key {session.server_fingerprint}")
        self.settings = Settings(self.host_var.get().strip(), int(self.port_var.get()), self.name_var.get())
        self._save_settings()
        self.message_entry.focus_set()

    def _show_status(self) -> None:
        session = self.session
        if session is not None:
            self.status_var.set(
                f"Connected to {clean(session.server_name)} at {session.host}:{session.port} as "
                f"{self.name_var.get()} (#{session.connection_id})  \u2022  server key {session.server_fingerprint}"
            )

    def _save_settings(self) -> None:
        try:
            self.settings.save(self.settings_path)
        except OSError as error:
            self.log("error", f"Could not remember the server: {error}")

    def _on_lost(self, reason: str) -> None:
        self.log("error", f"Connection lost: {clean(reason)}; reconnecting")

    def _on_reconnecting(self, attempt: int, delay: float) -> None:
        self.status_var.set(f"Connection lost; reconnecting in {delay:.1f} s (attempt {attempt})\u2026")

    def _on_resumed(self, session: Session) -> None:
        self.session = session
        self._show_status()
        rooms = ", ".join(clean(room) for room in self.rooms)
        self.log("info", f"Reconnected (#{session.connection_id})" + (f"; rooms resumed: {rooms}" if rooms else ""))

    def _on_closed(self, reason: str, by_user: bool) -> None:
        self.session = None
        self.log("info" if by_user else "error", ("Disconnected: " if by_user else "Connection lost: ") + clean(reason))
        self._set_state("disconnected")

    # ------------------------------------------------------------------ the message entry

    def send_line(self) -> None:
        if self.state != "connected":
            return
        line = self.message_entry.get()
        self.message_entry.delete(0, "end")
        command = parse_line(line)
        if command is None:
            return
        verb, argument = command.verb, command.argument
        if verb == "invalid":
            self.log("error", argument or "invalid command")
        elif verb == "help":
            self.log("info", HELP)
        elif verb == "say":
            if self.rooms:
                self.worker.say(self.rooms[-1], argument or "")  # our message comes back as an event
            else:
                self.log("sent", f"> {argument}")
                self.worker.run_command("echo", argument)
        elif verb in ("leave", "who"):
            room = argument or (self.rooms[-1] if self.rooms else None)
            if room is None:
                self.log("error", f"You are in no room; use /{verb} ROOM")
            else:
                self.worker.run_command(verb, room)
        elif verb == "rename":
            problem = display_name_problem(argument or "")
            if problem:
                self.log("error", f"Cannot rename: {problem}")
            else:
                self.worker.run_command("rename", argument)
        elif verb == "msg":
            self.log("sent", f"[to #{command.target}] {argument}")
            self.worker.run_command("msg", argument, command.target)
        else:
            self.worker.run_command(verb, argument)

    def _on_reply(self, verb: str, argument: Any, result: Any) -> None:
        if verb == "echo":
            self.log("received", f"echo: {clean(result)}")
        elif verb == "join":
            reply: ChatReply = result
            if argument in self.rooms:
                self.rooms.remove(argument)
            self.rooms.append(argument)
            self.members[argument] = {m.id: m.name for m in reply.members or []}
            self.log("info", f"Joined {argument}; members: {self._member_text(reply.members or [])}")
            self._show_members()
        elif verb == "leave":
            if argument in self.rooms:
                self.rooms.remove(argument)
            self.members.pop(argument, None)
            self.log("info", f"Left {argument}")
            self._show_members()
        elif verb == "who":
            self.log("info", f"Members of {argument}: {self._member_text(result)}")
            if argument in self.members:
                self.members[argument] = {m.id: m.name for m in result}
                self._show_members()
        elif verb == "rooms":
            text = ", ".join(f"{clean(r.name)} ({r.members})" for r in result)
            self.log("info", f"Rooms: {text}" if result else "No rooms")
        elif verb == "rename":
            self.name_var.set(argument)
            self.settings.name = argument
            self._save_settings()
            self._show_status()
            self.log("info", f"You are now {argument}")
        elif verb == "rekey":
            self.log("info", "Session keys renewed in both directions")
        elif verb == "ping":
            self.log("info", f"pong in {result * 1000:.2f} ms")

    def _member_text(self, members: list[ChatMember]) -> str:
        me = self.session.connection_id if self.session else None
        return ", ".join(f"{clean(m.name)} (#{m.id}{', you' if m.id == me else ''})" for m in members)

    def _show_members(self) -> None:
        self.member_list.delete(0, "end")
        room = self.rooms[-1] if self.rooms else None
        self.room_label.set(f"Members of {room}" if room else "Members (join a room)")
        self.prompt_var.set(f"{room}>" if room else "echo>")
        if room is None:
            return
        for member_id, name in sorted(self.members.get(room, {}).items()):
            self.member_list.insert("end", f"{clean(name)} (#{member_id})")

    def _on_event(self, event: Any, connection_id: int | None = None) -> None:
        if isinstance(event, ServerStopping):
            self.log("error", f"The server is stopping; the session ends within {event.grace_ms / 1000:g} s")
            return
        if isinstance(event, HistoryGap):
            self.log("error", f"Missed messages {event.first} to {event.last} in {clean(event.room)} "
                     "(more than the server holds happened while disconnected)")
            return
        if isinstance(event, NumberingRestarted):
            self.log("error", f"The server restarted: history of {clean(event.room)} may be missing")
            return
        if isinstance(event, ServiceEvent):
            if event.chat is None:
                self.log("info", f"[{clean(event.service)}] an event of {len(event.body)} bytes")
                return
            event = event.chat
        chat: ChatEvent = event
        me = connection_id if connection_id is not None else self.session.connection_id if self.session else None
        who = f"{clean(chat.name)} (#{chat.sender})"
        room = clean(chat.room or "")
        members = self.members.get(chat.room or "")
        if chat.kind == "message":
            self.log("sent" if chat.sender == me else "received", f"[{room}] {clean(chat.name)}: {clean(chat.text or '')}")
        elif chat.kind == "direct":
            self.log("received", f"[direct] {who}: {clean(chat.text or '')}")
        elif chat.kind == "joined":
            self.log("info", f"* {who} joined {room}")
            if members is not None:
                members[chat.sender] = chat.name
        elif chat.kind == "left":
            self.log("info", f"* {who} left {room}")
            if members is not None:
                members.pop(chat.sender, None)
        elif chat.kind == "renamed":
            self.log("info", f"* {clean(chat.old_name or '?')} (#{chat.sender}) renamed to {clean(chat.name)} in {room}")
            if members is not None:
                members[chat.sender] = chat.name
        else:
            self.log("info", f"[chat] {clean(chat.kind)} event")
        self._show_members()

    # ------------------------------------------------------------------ the inbox

    def _poll(self) -> None:
        try:
            while True:
                message = self.worker.inbox.get_nowait()
                try:
                    self._handle(message)
                except Exception as error:  # noqa: BLE001 - a bug must not kill the window
                    self.log("error", f"Internal error: {error!r}")
        except queue.Empty:
            pass
        self.root.after(POLL_MS, self._poll)

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, *rest = message
        if kind == "log":
            self.log(*rest)
        elif kind == "unknown_key":
            self._on_unknown_key(*rest)
        elif kind == "connected":
            self._on_connected(*rest)
        elif kind == "connect_failed":
            self.log("error", clean(rest[0]))
            self._set_state("disconnected")
        elif kind == "event":
            self._on_event(*rest)
        elif kind == "lost":
            self._on_lost(*rest)
        elif kind == "reconnecting":
            self._on_reconnecting(*rest)
        elif kind == "resumed":
            self._on_resumed(*rest)
        elif kind == "closed":
            self._on_closed(*rest)
        elif kind == "reply":
            self._on_reply(*rest)
        elif kind == "failed":
            self.log("error", f"{rest[0]} failed: {clean(rest[1])}")

    def quit(self) -> None:
        self.worker.shutdown()
        self.root.destroy()


# The exit status when no window can be opened (no display): sysexits' EX_UNAVAILABLE, as the
# Swift executables use for a service that is not there (README.md, "Desktop client").
EXIT_NO_DISPLAY = 69


def no_display_message(error: tk.TclError, display: str | None) -> str:
    """The one line ``laboratory-gui`` ends with when Tk cannot open a window."""
    if not display:
        return (
            "laboratory-gui: cannot open a window: no display (DISPLAY is not set); "
            "run it in a graphical session, or set DISPLAY to an X server"
        )
    reason = " ".join(str(error).split())
    return (
        f"laboratory-gui: cannot open a window on display {display!r}: {reason}; "
        "check that the X server is running and that you may use it"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="laboratory-gui", description="Laboratory desktop client")
    parser.add_argument("--known-hosts", type=Path, help="known-hosts file (default: ~/.config/laboratory/known_hosts)")
    arguments = parser.parse_args(argv)
    try:
        root = tk.Tk()
    except tk.TclError as error:
        print(no_display_message(error, os.environ.get("DISPLAY")), file=sys.stderr)
        raise SystemExit(EXIT_NO_DISPLAY) from None
    LaboratoryWindow(root, known_hosts_path=arguments.known_hosts)
    root.mainloop()


if __name__ == "__main__":
    main()
