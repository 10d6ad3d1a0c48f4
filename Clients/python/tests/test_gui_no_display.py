"""``laboratory-gui`` without a display: one line on standard error and exit status 69
(EX_UNAVAILABLE), never a traceback. Runs the real entry point in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"


def run_gui(display: str | None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environment["PYTHONPATH"] = str(SOURCE)
    if display is not None:
        environment["DISPLAY"] = display
    return subprocess.run(
        [sys.executable, "-m", "laboratory_client.gui.app"],
        env=environment, capture_output=True, text=True, timeout=60,
    )


def test_no_display_set(tmp_path) -> None:
    run = run_gui(None)
    assert run.returncode == 69, run.stderr
    assert run.stdout == ""
    assert run.stderr == (
        "laboratory-gui: cannot open a window: no display (DISPLAY is not set); "
        "run it in a graphical session, or set DISPLAY to an X server\n"
    )


def test_display_that_does_not_exist() -> None:
    # Display numbers this high are never served: X11 sockets are /tmp/.X11-unix/X<n>.
    display = ":5999"
    assert not Path("/tmp/.X11-unix/X5999").exists()
    run = run_gui(display)
    assert run.returncode == 69, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert lines[0].startswith("laboratory-gui: cannot open a window on display ':5999': ")
    assert lines[0].endswith("check that the X server is running and that you may use it")
