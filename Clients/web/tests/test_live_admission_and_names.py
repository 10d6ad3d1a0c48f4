"""The page against a real ``laboratory-server`` where the server, not the user, decides: a display
name refused during the handshake and replaced on the same connection (PROTOCOL.md §9
AwaitingName), a session kicked through the admin API (code 17, §12: shown, never reconnected),
and a locked-out source (code 15 with ``retry_ms``, §9 Admission: the wait is shown and the page
does not connect again before it has passed)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

import pytest
from selenium.webdriver.common.by import By

from conftest import PASSWORD, save_screenshot, start_web_server
from laboratory_client import Pinned, blocking
from test_live_browser import WAIT, connect, log_lines, open_page, page_state, text_of, wait_until

# Runs the page's own Connection (lib/connection.js) in the page, against the server: the name
# check of the page's forms (lib/names.js) is the server's rules exactly, so no name a user can
# submit there is refused by the server; the retry path is driven through the library instead.
NAME_RETRY_SCRIPT = """
const [url, fingerprint, password, names] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const { Connection } = await import("./lib/connection.js");
  const { PinStore } = await import("./lib/trust.js");
  const pins = new PinStore();
  let sockets = 0;
  class CountingWebSocket extends WebSocket {
    constructor(...args) { super(...args); sockets += 1; }
  }
  const connection = new Connection({ url, password, name: names[0], pins, acceptFingerprint: fingerprint, WebSocketImpl: CountingWebSocket });
  const seen = [];
  const rest = names.slice(1);
  const finished = new Promise((resolve) => {
    connection.addEventListener("nameRejected", (e) => {
      seen.push({ event: "nameRejected", reason: e.detail.reason, attemptsLeft: e.detail.attemptsLeft });
      const next = rest.shift();
      if (next === undefined) connection.giveUpName();
      else connection.retryName(next);
    });
    connection.addEventListener("accepted", async (e) => {
      const reply = await connection.request("echo", new TextEncoder().encode("named"));
      seen.push({ event: "accepted", echo: new TextDecoder().decode(reply.body) });
      connection.bye();
    });
    connection.addEventListener("closed", (e) => {
      seen.push({ event: "closed", code: e.detail.code, origin: e.detail.origin, message: e.detail.message });
      resolve();
    });
  });
  connection.open();
  await finished;
  return { seen, sockets };
})().then(done, (error) => done({ error: String(error && error.stack || error) }));
"""


def run_names(driver, web_server, names: list[str]) -> dict:
    driver.get(web_server.page_url)
    wait_until(driver, lambda d: page_state(d) == "idle", "the page did not start")
    outcome = driver.execute_async_script(NAME_RETRY_SCRIPT, web_server.ws_url, web_server.fingerprint, PASSWORD, names)
    assert "error" not in outcome, outcome.get("error")
    return outcome


def test_a_refused_name_is_replaced_on_the_same_connection(browser, web_server):
    outcome = run_names(browser, web_server, [" padded", "Named Later"])
    assert outcome["sockets"] == 1, "the retry opened another connection"
    assert outcome["seen"] == [
        {"event": "nameRejected", "reason": "display name starts or ends with whitespace", "attemptsLeft": 2},
        {"event": "accepted", "echo": "named"},
        {"event": "closed", "code": 1, "origin": "server", "message": outcome["seen"][2]["message"]},
    ]


def test_names_run_out_and_giving_up(browser, web_server):
    # Three invalid names: two answered with nameRejected, the last with the server's code 7.
    outcome = run_names(browser, web_server, ["", " a", "b "])
    assert outcome["sockets"] == 1
    assert [e["event"] for e in outcome["seen"]] == ["nameRejected", "nameRejected", "closed"]
    assert [e["attemptsLeft"] for e in outcome["seen"][:2]] == [2, 1]
    assert outcome["seen"][0]["reason"] == "display name is empty"
    assert outcome["seen"][2]["code"] == 7 and outcome["seen"][2]["origin"] == "server"
    assert "whitespace" in outcome["seen"][2]["message"]
    # Giving up after one rejection ends the connection on this side with the server's reason.
    outcome = run_names(browser, web_server, [""])
    assert [e["event"] for e in outcome["seen"]] == ["nameRejected", "closed"]
    closed = outcome["seen"][1]
    assert (closed["code"], closed["origin"]) == (7, "client")
    assert closed["message"] == "the server rejected the name: display name is empty"


def admin_kick(web_server, session_id: str, reason: str) -> dict:
    token = (web_server.state_dir / "admin_token").read_text().strip()
    request = urllib.request.Request(
        f"{web_server.http_origin}/admin/sessions/{session_id}/kick", method="POST",
        data=json.dumps({"reason": reason}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def pin_server(driver, web_server) -> None:
    driver.execute_script(
        "localStorage.setItem('laboratory.pinnedKeys', JSON.stringify({[arguments[0]]: arguments[1]}))",
        web_server.ws_url, web_server.fingerprint,
    )


def test_a_kick_is_shown_and_never_reconnected(browser, web_server):
    if web_server.http_origin is None:
        pytest.skip("the admin API is on the server's HTTP listener (gateway mode)")
    driver = browser
    open_page(driver, web_server, "Kickee")
    pin_server(driver, web_server)
    connect(driver)
    wait_until(driver, lambda d: page_state(d) == "accepted", "the session was not accepted")
    session_id = text_of(driver, "connection-id") or driver.execute_script("return document.getElementById('connection-id').textContent")
    assert admin_kick(web_server, session_id, "spamming the lobby \u202eevil") == {"kicked": int(session_id)}
    wait_until(driver, lambda d: "code 17, kicked" in text_of(d, "close-reason"), "no code 17 shown")
    # The operator's reason, as text from the server (the bidirectional override made harmless).
    assert "spamming the lobby \\u{202E}evil" in text_of(driver, "close-reason")
    assert text_of(driver, "status") == "Not connected: removed by the server's operator: spamming the lobby \\u{202E}evil"
    # No reconnection: a retryable ending reconnects within the first backoff (at most 1 s); the
    # time passing is what is tested.
    time.sleep(4)
    assert page_state(driver) == "closed"
    assert not any("econnecting" in line for line in log_lines(driver, "notice"))
    assert driver.find_element(By.ID, "connect-button").is_enabled()
    save_screenshot(driver, "kicked")


@pytest.fixture
def lockout_server(tmp_path):
    """A server of its own: locking out 127.0.0.1 would refuse every other test's connections."""
    running = start_web_server(tmp_path / "lockout-state")
    yield running
    running.stop()


def lock_out(server, attempts: int = 6) -> None:
    """Wrong passwords from 127.0.0.1 at once: 5 s of penalty each (§9), 30 s in all, against a 15 s
    threshold."""
    def guess():
        try:
            blocking.connect(server.host, server.port, password="not the password", name="Guesser",
                             trust=Pinned(server.fingerprint)).close()
        except Exception:
            pass  # refused: that is the point
    threads = [threading.Thread(target=guess) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)


def seconds_of(text: str) -> int:
    match = re.search(r"try again in ((?:\d+h )?(?:\d+m )?\d+s)", text)
    assert match, f"no remaining time in {text!r}"
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[unit] for n, unit in re.findall(r"(\d+)([hms])", match.group(1)))


def test_a_lockout_shows_the_time_and_waits_for_it(lockout_server, browser):
    driver = browser
    open_page(driver, lockout_server, "Locked")
    pin_server(driver, lockout_server)
    lock_out(lockout_server)
    connect(driver)
    wait_until(driver, lambda d: "code 15, refused" in text_of(d, "close-reason"), "no refusal shown")
    refused_at = time.monotonic()
    status = text_of(driver, "status")
    assert status.startswith("Locked out: try again in "), status
    remaining = seconds_of(status)
    assert 1 <= remaining <= 30, status
    notice = next(line for line in log_lines(driver, "notice") if "Locked out" in line)
    assert "try again in" in notice and "reconnecting in" in notice
    save_screenshot(driver, "locked-out")
    # The page reconnects by itself once the lockout is over, and not before.
    wait_until(driver, lambda d: page_state(d) == "accepted", "the page did not connect after the lockout", timeout=remaining + WAIT)
    waited = time.monotonic() - refused_at
    assert waited >= remaining - 1, f"reconnected after {waited:.1f} s of a {remaining} s lockout"
    assert "code 15" not in " ".join(log_lines(driver, "notice")[1:]), "refused again: it tried too early"
