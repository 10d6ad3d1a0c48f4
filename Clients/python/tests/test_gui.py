"""The desktop client driven for real under Xvfb: fill in the form, trust the server key in the
dialog, send, receive, join a room, rename, disconnect; a screenshot is saved as a test artifact."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import laboratory_client as lab
from laboratory_client import blocking
from laboratory_server import PASSWORD, start_server
from xvfb import Xvfb

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def display():
    xvfb = Xvfb()
    yield xvfb
    xvfb.stop()


@pytest.fixture
def window(display, isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("DISPLAY", display.display)
    import tkinter as tk

    from laboratory_client.gui.app import LaboratoryWindow

    root = tk.Tk()
    app = LaboratoryWindow(root, known_hosts_path=tmp_path / "known_hosts")
    pump(app, lambda: True)
    yield app
    if app.root.winfo_exists():
        app.quit()


def pump(app, until, timeout: float = 15.0, what: str = "") -> None:
    """Runs Tk's event loop until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        app.root.update()
        if until():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or until}; log: {app.log_lines()}")
        time.sleep(0.02)


def fill(entry, text: str) -> None:
    entry.delete(0, "end")
    entry.insert(0, text)


def type_line(app, text: str) -> None:
    fill(app.message_entry, text)
    app.message_entry.focus_force()
    app.root.update()
    app.message_entry.event_generate("<Return>")


def logged(app, style: str, fragment: str):
    return lambda: any(s == style and fragment in text for s, text in app.log_lines())


def test_gui_session(window, server, display, isolated_home) -> None:
    app = window
    # Validation: a bad port and a bad name keep the client from connecting.
    fill(app.fields["host"], server.host)
    fill(app.fields["port"], "not a port")
    fill(app.fields["name"], " gui")
    fill(app.fields["password"], PASSWORD)
    assert app.fields["password"].cget("show") == "\u2022"
    app.connect_button.invoke()
    pump(app, logged(app, "error", "the port is a number"))
    assert any("whitespace" in text for style, text in app.log_lines() if style == "error")
    assert app.state == "disconnected"

    fill(app.fields["port"], str(server.port))
    fill(app.fields["name"], "gui")
    app.connect_button.invoke()
    assert app.state == "connecting" and str(app.connect_button.cget("text")).startswith("Connecting")
    # First contact: the fingerprint is shown and must be trusted explicitly in the dialog.
    pump(app, lambda: app.trust_dialog is not None, what="the trust dialog")
    assert logged(app, "info", server.fingerprint)()
    app.trust_dialog.trust_button.invoke()
    pump(app, lambda: app.state == "connected", what="connected")
    assert app.connect_button.cget("text") == "Disconnect"
    assert server.fingerprint in app.status_var.get()
    assert lab.KnownHosts(app.worker.known_hosts.path).lookup(server.host, server.port) == server.fingerprint

    # A plain line outside any room goes to the echo service.
    type_line(app, "hello from the gui")
    pump(app, logged(app, "received", "echo: hello from the gui"))
    assert logged(app, "sent", "> hello from the gui")()

    # Rooms: join, see the members, talk with another client.
    type_line(app, "/join gui-room")
    pump(app, lambda: app.member_list.size() == 1, what="member list")
    with blocking.connect(server.host, server.port, password=PASSWORD, name="visitor",
                          trust=lab.Pinned(server.fingerprint)) as visitor:
        visitor.chat.join("gui-room")
        pump(app, lambda: app.member_list.size() == 2, what="visitor in the member list")
        visitor.chat.say("gui-room", "hi gui\x1b[31m\u202eevil\nsecond line")
        pump(app, logged(app, "received", "[gui-room] visitor: hi gui"))
        line = next(text for style, text in app.log_lines() if "visitor: hi gui" in text)
        assert "\x1b" not in line and "\u202e" not in line and "\n" not in line
        type_line(app, "hello room")
        pump(app, logged(app, "sent", "[gui-room] gui: hello room"))
        type_line(app, "/rename gui tester")
        pump(app, logged(app, "info", "You are now gui tester"))
        members = app.member_list.get(0, "end")
        assert any(m.startswith("gui tester") for m in members) and any(m.startswith("visitor") for m in members)
        type_line(app, "/who")
        pump(app, logged(app, "info", "Members of gui-room"))
        type_line(app, "/nonsense")
        pump(app, logged(app, "error", "unknown command /nonsense"))

        ARTIFACTS.mkdir(exist_ok=True)
        screenshot = ARTIFACTS / "gui.png"
        screenshot.unlink(missing_ok=True)
        pump(app, lambda: True)
        display.screenshot(screenshot)
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000

    # Disconnect: the button reflects the state, and the settings are remembered.
    app.connect_button.invoke()
    pump(app, lambda: app.state == "disconnected", what="disconnected")
    assert app.connect_button.cget("text") == "Connect"
    assert logged(app, "info", "Disconnected")()
    settings = json.loads((isolated_home / ".config" / "laboratory" / "gui.json").read_text())
    assert settings == {"host": server.host, "port": server.port, "name": "gui tester"}


def test_gui_reconnects_after_a_server_restart_and_resumes_its_room(window, tmp_path) -> None:
    app = window
    state = tmp_path / "server-state"
    server = start_server(state)
    servers = [server]
    try:
        lab.KnownHosts(app.worker.known_hosts.path).add(server.host, server.port, server.fingerprint)
        fill(app.fields["host"], server.host)
        fill(app.fields["port"], str(server.port))
        fill(app.fields["name"], "gui")
        fill(app.fields["password"], PASSWORD)
        app.connect_button.invoke()
        pump(app, lambda: app.state == "connected", what="connected (known key, no dialog)")
        assert app.trust_dialog is None
        type_line(app, "/join gui-room")
        pump(app, lambda: app.member_list.size() == 1, what="member list")
        for i in range(5):  # the room's numbers go beyond what the new run will have reached
            type_line(app, f"before the restart {i}")
            pump(app, logged(app, "sent", f"[gui-room] gui: before the restart {i}"))
        server.process.kill()  # no goodbye at all
        pump(app, logged(app, "error", "Connection lost"), what="the lost connection")
        pump(app, lambda: "reconnecting in" in app.status_var.get(), what="the reconnecting status")
        assert app.state == "connected" and app.connect_button.cget("text") == "Disconnect"
        # The server comes back on the same port with the same key, its memory empty; someone talks
        # before the window is back (its retries back off), and the window sees it once, although
        # its number is below the last one the window saw before the restart.
        servers.append(start_server(state, port=server.port))
        with blocking.connect(server.host, server.port, password=PASSWORD, name="visitor",
                              trust=lab.Pinned(server.fingerprint)) as visitor:
            visitor.chat.join("gui-room")
            visitor.chat.say("gui-room", "said after the restart")
            pump(app, logged(app, "info", "Reconnected"), timeout=30, what="reconnected")
            pump(app, logged(app, "received", "[gui-room] visitor: said after the restart"))
            pump(app, lambda: app.member_list.size() == 2, what="both members listed again")
        assert logged(app, "error", "The server restarted: history of gui-room may be missing")()
        assert sum("said after the restart" in text for _, text in app.log_lines()) == 1
        assert "Connected to" in app.status_var.get()
        assert not any("Traceback" in text for _, text in app.log_lines())
        # Disconnect ends it for good.
        app.connect_button.invoke()
        pump(app, lambda: app.state == "disconnected", what="disconnected")
    finally:
        for running in servers:
            running.stop()


def test_gui_refuses_a_changed_key_and_a_wrong_password(window, tmp_path) -> None:
    app = window
    server = start_server(tmp_path / "server-state")
    try:
        lab.KnownHosts(app.worker.known_hosts.path).add(server.host, server.port, "SHA256:" + "B" * 43)
        fill(app.fields["host"], server.host)
        fill(app.fields["port"], str(server.port))
        fill(app.fields["name"], "gui")
        fill(app.fields["password"], PASSWORD)
        app.connect_button.invoke()
        pump(app, logged(app, "error", "changed"))
        assert app.state == "disconnected" and app.trust_dialog is None
        lab.KnownHosts(app.worker.known_hosts.path).add(server.host, server.port, server.fingerprint)
        fill(app.fields["password"], "wrong")
        app.connect_button.invoke()
        pump(app, logged(app, "error", "code 6"))
        assert app.state == "disconnected"
    finally:
        server.stop()
