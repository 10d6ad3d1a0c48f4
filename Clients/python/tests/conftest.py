from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helper modules next to the tests

from laboratory_server import RunningServer, start_server  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> RunningServer:
    """One real server for the tests that do not upset it (no wrong passwords, no penalties)."""
    running = start_server(tmp_path_factory.mktemp("server-state"))
    yield running
    running.stop()


@pytest.fixture
def fresh_server(tmp_path) -> RunningServer:
    """A server of the test's own, for tests that earn penalties or stop it."""
    running = start_server(tmp_path / "server-state")
    yield running
    running.stop()


@pytest.fixture
def isolated_home(tmp_path, monkeypatch) -> Path:
    """HOME and XDG_CONFIG_HOME in a temporary directory, so no real config is read or written."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return home
