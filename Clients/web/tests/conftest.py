"""Fixtures for the browser client's tests: a real ``laboratory-server``, the page and its
WebSocket endpoint, and headless Chromium driven by selenium.

Where the page and ``/v1/ws`` come from is decided in one place, ``WEB_TRANSPORT`` below:

* ``gateway`` (the default): the server's own HTTP listener (``--http-port 0 --websocket
  --web-root``) serves both; the server prints the listener's address (``GATEWAY_LINE``);
* ``bridge``: ``bridge.py`` serves ``Clients/web`` and relays each WebSocket message to the server's
  TCP port as one frame; only the reconnection test needs it (it cuts connections under the page).

``LABORATORY_WEB_TRANSPORT`` overrides it for one run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WEB_ROOT = HERE.parent
REPO_ROOT = WEB_ROOT.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO_ROOT / "Clients" / "python" / "tests"))  # the server helpers
sys.path.insert(0, str(REPO_ROOT / "Clients" / "python" / "src"))  # this checkout's Python client, the TCP peer

from bridge import WebBridge  # noqa: E402
from laboratory_server import PASSWORD, LineReader, server_binary  # noqa: E402

WEB_TRANSPORT = os.environ.get("LABORATORY_WEB_TRANSPORT", "gateway")  # "bridge" or "gateway"
GATEWAY_LINE = r"HTTP listening on (\S+):(\d+)"  # what the server prints for its HTTP listener
ARTIFACTS = WEB_ROOT / "test-artifacts"
KEEPALIVE_SECONDS = 1
IDLE_TIMEOUT_SECONDS = 5


@dataclass
class WebServer:
    """A running server and where a browser reaches it."""

    process: subprocess.Popen
    host: str
    port: int  # the protocol's TCP port
    fingerprint: str
    page_url: str  # the page (index.html)
    ws_url: str  # the WebSocket endpoint
    origin: str  # where the page's other files (tests/vectors.html) are served
    bridge: WebBridge | None  # the test bridge, or None behind the real gateway
    output: LineReader
    state_dir: Path  # holds admin_token
    http_origin: str | None  # the server's own HTTP listener (health, admin API, gateway), if any

    def stop(self) -> None:
        if self.bridge:
            self.bridge.stop()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_web_server(state_dir: Path) -> WebServer:
    state_dir.mkdir(parents=True, exist_ok=True)
    # Pings after 1 s of silence and a 5 s idle timeout, so that a page that did not answer pings
    # would be dropped within the tests (test_live_browser.test_answers_keepalive_pings).
    command = [
        str(server_binary()), "--port", "0", "--state-dir", str(state_dir), "--log-level", "warning",
        "--keepalive-interval", str(KEEPALIVE_SECONDS), "--idle-timeout", str(IDLE_TIMEOUT_SECONDS),
    ]
    if WEB_TRANSPORT == "gateway":
        command += ["--http-port", "0", "--websocket", "--web-root", str(WEB_ROOT)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "LABORATORY_PASSWORD": PASSWORD},
    )
    output = LineReader(process.stdout)
    try:
        fingerprint = output.wait_for(r"Host key fingerprint: (SHA256:\S+)").group(1)
        host, port = output.wait_for(r"Listening on (\S+):(\d+)").groups()
        if WEB_TRANSPORT == "gateway":
            earlier = next((m for m in map(re.compile(GATEWAY_LINE).search, output.seen) if m), None)
            http_host, http_port = (earlier or output.wait_for(GATEWAY_LINE)).groups()
            origin = f"http://{http_host}:{http_port}"
            http_origin = origin
            bridge = None
            ws_url = f"ws://{http_host}:{http_port}/v1/ws"
        else:
            http_origin = None
            bridge = WebBridge(WEB_ROOT, host, int(port)).start()
            origin, ws_url = bridge.origin, bridge.ws_url
    except BaseException:
        process.kill()
        raise
    return WebServer(process, host, int(port), fingerprint, f"{origin}/", ws_url, origin, bridge, output, state_dir, http_origin)


@pytest.fixture(scope="session")
def web_server(tmp_path_factory) -> WebServer:
    running = start_web_server(tmp_path_factory.mktemp("web-server-state"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def static_site() -> str:
    """An origin serving Clients/web, for the page's own tests (no server needed)."""
    bridge = WebBridge(WEB_ROOT, "127.0.0.1", 9).start()  # port 9: nothing to relay to
    yield bridge.origin
    bridge.stop()


def chromium_paths() -> tuple[str, str]:
    browser = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("headless Chromium is needed: apt-get install chromium chromium-driver (scripts/test installs them)")
    return browser, driver


def new_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture
def browser():
    """A fresh headless Chromium (its own profile, so nothing is pinned yet)."""
    driver = new_browser()
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def save_screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    driver.save_screenshot(str(path))
    return path
