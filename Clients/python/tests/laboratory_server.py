"""Starts and stops a real ``laboratory-server`` for the live tests."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vectors import REPO_ROOT

PASSWORD = "correct horse battery staple"


def swift_binary(product: str, environment_variable: str) -> Path:
    """The built product, from the environment variable or ``.build/debug``, built if missing."""
    override = os.environ.get(environment_variable)
    if override:
        return Path(override)
    path = REPO_ROOT / ".build" / "debug" / product
    if not path.exists():
        subprocess.run(["swift", "build", "--product", product], cwd=REPO_ROOT, check=True)
    return path


def server_binary() -> Path:
    return swift_binary("laboratory-server", "LABORATORY_SERVER_BIN")


def client_binary() -> Path:
    return swift_binary("laboratory", "LABORATORY_CLIENT_BIN")


class LineReader:
    """Collects a process's output lines in a background thread."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in iter(stream.readline, ""):
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first new line matching ``pattern``; lines before it are kept in ``seen``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; saw {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended before a line matching {pattern!r}; saw {self.seen}")
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match


@dataclass
class RunningServer:
    process: subprocess.Popen
    host: str
    port: int
    fingerprint: str
    state_dir: Path
    output: LineReader = field(repr=False)
    #: The HTTP listener (health, admin API), when started with ``--http-port``.
    http_origin: str | None = None

    def kill(self) -> None:
        """Kills the process at once (SIGKILL): no goodbye to its clients, its state in memory lost."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    state_dir: Path, port: int = 0, name: str | None = None, *, password: str = PASSWORD, arguments: tuple[str, ...] = ()
) -> RunningServer:
    """A server on ``port`` (0: a free one) keeping its host key in ``state_dir``; ``arguments`` are
    added to its command line (``--http-port 0`` also waits for the HTTP listener's address)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    command = [str(server_binary()), "--port", str(port), "--state-dir", str(state_dir), "--log-level", "warning"]
    if name:
        command += ["--name", name]
    command += list(arguments)
    environment = {**os.environ, "LABORATORY_PASSWORD": password}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
    )
    output = LineReader(process.stdout)
    try:
        fingerprint = output.wait_for(r"Host key fingerprint: (SHA256:\S+)").group(1)
        host, listening_port = output.wait_for(r"Listening on (\S+):(\d+)").groups()
        http_origin = None
        if "--http-port" in arguments:
            pattern = re.compile(r"HTTP listening on (\S+):(\d+)")
            match = next((m for m in map(pattern.search, output.seen) if m), None) or output.wait_for(pattern.pattern)
            http_origin = f"http://{match.group(1)}:{match.group(2)}"
    except BaseException:
        process.kill()
        raise
    return RunningServer(process, host, int(listening_port), fingerprint, state_dir, output, http_origin)
