"""(b)–(e) The page in headless Chromium against a real ``laboratory-server`` (through the test
bridge or the server's gateway, see conftest.py): handshake and pinning, chat with a TCP client in
the same room both ways, renames, key updates, reconnection, close reasons, and a changed server
key refused before anything is sent."""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import IDLE_TIMEOUT_SECONDS, PASSWORD, save_screenshot
from laboratory_client import Pinned, blocking

WAIT = 30  # seconds; a live handshake includes RSA work on a busy machine


def wait_until(driver, condition, message: str, timeout: float = WAIT):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d))
    except Exception as error:
        status = driver.find_element(By.ID, "status").text
        reason = driver.find_element(By.ID, "close-reason").text
        logs = driver.get_log("browser")
        raise AssertionError(f"{message}; status {status!r}, close reason {reason!r}, console {logs}") from error


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def visible(driver, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def page_state(driver) -> str:
    return driver.execute_script("return document.body.dataset.state")


def pins(driver) -> dict:
    return json.loads(driver.execute_script("return localStorage.getItem('laboratory.pinnedKeys') || '{}'"))


def fill(driver, element_id: str, value: str) -> None:
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(value)


def submit_form(driver, input_id: str, value: str) -> None:
    fill(driver, input_id, value)
    driver.find_element(By.ID, input_id).submit()


def open_page(driver, web_server, name: str) -> None:
    driver.get(web_server.page_url)
    wait_until(driver, lambda d: page_state(d) == "idle", "the page did not start")
    fill(driver, "server-url", web_server.ws_url)
    fill(driver, "display-name", name)
    fill(driver, "password", PASSWORD)


def connect(driver) -> None:
    driver.find_element(By.ID, "connect-button").click()


def texts(driver, selector: str) -> list[str]:
    """The text of every element matching ``selector``, read in one script (the page re-renders
    its lists, so element handles could go stale between two calls)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), (e) => e.textContent)", selector
    )


def log_lines(driver, kind: str) -> list[str]:
    return texts(driver, f"#messages li[data-kind='{kind}']")


def members(driver) -> list[str]:
    return texts(driver, "#members li")


def next_chat(session, predicate, timeout: float = WAIT):
    """The TCP client's next chat event matching ``predicate`` (others are skipped)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            event = session.next_event(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        chat = getattr(event, "chat", None)
        if chat is not None:
            seen.append(chat)
            if predicate(chat):
                return chat
    raise AssertionError(f"no matching chat event within {timeout} s; saw {seen}")


def bridge_connections(web_server):
    return list(web_server.bridge.connections) if web_server.bridge else None


def trust_on_first_use(driver, web_server) -> None:
    before = bridge_connections(web_server)
    connect(driver)
    wait_until(driver, lambda d: visible(d, "trust-prompt"), "no trust prompt for a new server key")
    assert text_of(driver, "new-fingerprint") == web_server.fingerprint
    assert pins(driver) == {}, "a key was pinned before the user trusted it"
    if before is not None:
        new = bridge_connections(web_server)[len(before):]
        assert len(new) == 1 and new[0].client_messages == 0, "the page sent something to an untrusted server"
    driver.find_element(By.ID, "trust-button").click()
    wait_until(driver, lambda d: page_state(d) == "accepted", "the session was not accepted")


def test_handshake_chat_rename_rekey_reconnect(browser, web_server):
    driver = browser
    open_page(driver, web_server, "Webby")

    # (b) A live handshake; the key is pinned only once the user trusts it, and shown as PROTOCOL.md §4 writes it.
    trust_on_first_use(driver, web_server)
    assert text_of(driver, "fingerprint") == web_server.fingerprint
    assert web_server.fingerprint.startswith("SHA256:") and "=" not in web_server.fingerprint
    assert pins(driver) == {web_server.ws_url: web_server.fingerprint}
    assert "Connected to Laboratory as Webby" in text_of(driver, "status")

    # (c) The same room as a TCP client, messages both ways, the member list.
    with blocking.connect(web_server.host, web_server.port, password=PASSWORD, name="Terminal",
                          trust=Pinned(web_server.fingerprint)) as tcp:
        tcp.chat.join("lobby")
        submit_form(driver, "room-name", "lobby")
        wait_until(driver, lambda d: sorted(members(d)) == ["Terminal", "Webby"], "the member list is not both")
        joined = next_chat(tcp, lambda e: e.kind == "joined" and e.name == "Webby")
        browser_id = joined.sender

        submit_form(driver, "message-text", "hello from the browser")
        said = next_chat(tcp, lambda e: e.kind == "message")
        assert (said.room, said.name, said.text, said.sender) == ("lobby", "Webby", "hello from the browser", browser_id)

        tcp.chat.say("lobby", "hello from TCP \u2713 \u202eevil")
        wait_until(driver, lambda d: any("hello from TCP" in line for line in log_lines(d, "message")),
                   "the TCP client's message did not arrive")
        line = next(line for line in log_lines(driver, "message") if "hello from TCP" in line)
        # Shown with its sender, and the bidirectional override neutralized (PROTOCOL.md §16).
        assert line == "[lobby] Terminal: hello from TCP \u2713 \\u{202E}evil"

        # (d) Renames: the browser's, seen by the TCP client; the TCP client's, seen in the page.
        submit_form(driver, "new-name", "Webby Two")
        renamed = next_chat(tcp, lambda e: e.kind == "renamed")
        assert (renamed.old_name, renamed.name, renamed.sender) == ("Webby", "Webby Two", browser_id)
        wait_until(driver, lambda d: sorted(members(d)) == ["Terminal", "Webby Two"], "the page's own rename is not listed")
        tcp.rename("Terminal Two")
        wait_until(driver, lambda d: sorted(members(d)) == ["Terminal Two", "Webby Two"], "the TCP client's rename is not listed")
        wait_until(driver, lambda d: any("Terminal is now Terminal Two" in line for line in log_lines(d, "renamed")),
                   "no notice of the rename")
        # A name the server would refuse is refused in the page before sending, with the rule.
        submit_form(driver, "new-name", " padded")
        wait_until(driver, lambda d: any("starts or ends with whitespace" in line for line in log_lines(d, "notice")),
                   "no message for an invalid name")

        # Key updates (PROTOCOL.md §8): the page replaces its key and asks the server to; both
        # directions keep working under the new keys.
        driver.find_element(By.XPATH, "//summary[text()='Session']").click()
        driver.find_element(By.ID, "rekey-button").click()
        wait_until(driver, lambda d: text_of(d, "key-updates") == "Key updates: sent 1, received 1.",
                   "the key update was not answered")
        submit_form(driver, "message-text", "after the key update")
        assert next_chat(tcp, lambda e: e.kind == "message").text == "after the key update"
        tcp.chat.say("lobby", "TCP after the key update")
        wait_until(driver, lambda d: any("TCP after the key update" in line for line in log_lines(d, "message")),
                   "no message after the key update")

        save_screenshot(driver, "chat")
        problems = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert problems == [], f"errors in the page's console: {problems}"

    # Close reasons: leaving ends the session with the server's code 1 and no reconnection.
    driver.find_element(By.ID, "disconnect-button").click()
    wait_until(driver, lambda d: "code 1, normal" in text_of(d, "close-reason"), "no close reason after bye")
    assert text_of(driver, "status") == "Not connected."


def test_reconnects_after_a_lost_connection(browser, web_server):
    """The connection is cut under the page (no closing, no WebSocket close): the page says so,
    reconnects with backoff, rejoins its room after the last event it saw, and chats again."""
    if web_server.bridge is None:
        pytest.skip("cutting a connection needs the test bridge (a kick, code 17, is final: never reconnected)")
    driver = browser
    open_page(driver, web_server, "Rejoiner")
    trust_on_first_use(driver, web_server)
    with blocking.connect(web_server.host, web_server.port, password=PASSWORD, name="Watcher",
                          trust=Pinned(web_server.fingerprint)) as tcp:
        tcp.chat.join("resume")
        submit_form(driver, "room-name", "resume")
        first = next_chat(tcp, lambda e: e.kind == "joined" and e.name == "Rejoiner")
        wait_until(driver, lambda d: sorted(members(d)) == ["Rejoiner", "Watcher"], "the join's reply was not shown")
        assert web_server.bridge.drop_all() == 1
        wait_until(driver, lambda d: any("(code 12, peer closed): the connection was lost" in line and "Reconnecting in" in line
                                         for line in log_lines(d, "notice")), "no reconnection announced")
        # Said while the page is away: replayed when it rejoins with `after`.
        tcp.chat.say("resume", "while you were away")
        wait_until(driver, lambda d: page_state(d) == "accepted", "the page did not reconnect")
        try:
            rejoined = next_chat(tcp, lambda e: e.kind == "joined" and e.name == "Rejoiner")
        except AssertionError as error:
            raise AssertionError(f"{error}; the page's log: {log_lines(driver, 'notice')}, status {text_of(driver, 'status')!r}") from None
        assert rejoined.sender != first.sender
        wait_until(driver, lambda d: any("while you were away" in line for line in log_lines(d, "message")),
                   "the message missed while away was not replayed")
        submit_form(driver, "message-text", "back again")
        assert next_chat(tcp, lambda e: e.kind == "message" and e.name == "Rejoiner").text == "back again"
        assert text_of(driver, "fingerprint") == web_server.fingerprint
        save_screenshot(driver, "reconnected")


def test_answers_keepalive_pings(browser, web_server):
    """The server pings after 1 s of silence and drops a session silent for 5 s (conftest.py): a
    page left alone longer than that stays connected because it answers every ping."""
    driver = browser
    open_page(driver, web_server, "Idler")
    driver.execute_script(
        "localStorage.setItem('laboratory.pinnedKeys', JSON.stringify({[arguments[0]]: arguments[1]}))",
        web_server.ws_url, web_server.fingerprint,
    )
    connect(driver)
    wait_until(driver, lambda d: page_state(d) == "accepted", "the session was not accepted")
    relayed = web_server.bridge.connections[-1] if web_server.bridge else None
    sent_before = relayed.client_messages if relayed else 0
    connection_id = driver.execute_script("return document.getElementById('connection-id').textContent")
    time.sleep(IDLE_TIMEOUT_SECONDS + 2)  # the time passing is what is tested: nothing to await
    assert page_state(driver) == "accepted", text_of(driver, "close-reason")
    assert driver.execute_script("return document.getElementById('connection-id').textContent") == connection_id, \
        f"the session was replaced (dropped and reconnected): {log_lines(driver, 'notice')}"
    assert not any("idle timeout" in line for line in log_lines(driver, "notice"))
    if relayed:
        assert relayed.client_messages - sent_before >= IDLE_TIMEOUT_SECONDS, "the page sent too few pongs"
    submit_form(driver, "message-text", "still here")
    wait_until(driver, lambda d: any("echo: still here" in line for line in log_lines(d, "notice")), "no echo")


def wrong_fingerprint(fingerprint: str) -> str:
    other = hashlib.sha256(fingerprint.encode()).digest()
    return "SHA256:" + base64.b64encode(other).decode().rstrip("=")


def test_changed_server_key_is_refused(browser, web_server):
    """(e) A pinned fingerprint that is not the server's: refused before anything is sent, with
    both fingerprints shown, the pin kept, and no reconnection."""
    driver = browser
    open_page(driver, web_server, "Mallory")
    pinned = wrong_fingerprint(web_server.fingerprint)
    driver.execute_script(
        "localStorage.setItem('laboratory.pinnedKeys', JSON.stringify({[arguments[0]]: arguments[1]}))",
        web_server.ws_url, pinned,
    )
    before = bridge_connections(web_server)
    connect(driver)
    wait_until(driver, lambda d: visible(d, "key-alert"), "no alert for a changed key")
    assert text_of(driver, "pinned-fingerprint") == pinned
    assert text_of(driver, "offered-fingerprint") == web_server.fingerprint
    assert text_of(driver, "alert-endpoint") == web_server.ws_url
    assert pinned in text_of(driver, "status") and web_server.fingerprint in text_of(driver, "status")
    assert pins(driver) == {web_server.ws_url: pinned}
    assert not visible(driver, "server-identity"), "the untrusted key is shown as the server's"
    assert not visible(driver, "chat")
    if before is not None:
        new = bridge_connections(web_server)[len(before):]
        assert len(new) == 1, "the page reconnected after a key mismatch"
        assert new[0].ended.is_set() or new[0].client_messages == 0
        assert new[0].client_messages == 0, "the page sent its key exchange to a server with a changed key"
    save_screenshot(driver, "key-mismatch")


def test_wrong_password_shows_the_servers_reason(browser, web_server):
    """A pinned key connects without asking; a wrong password ends with the server's code 6 and its
    message, and is not retried."""
    driver = browser
    open_page(driver, web_server, "Guesser")
    driver.execute_script(
        "localStorage.setItem('laboratory.pinnedKeys', JSON.stringify({[arguments[0]]: arguments[1]}))",
        web_server.ws_url, web_server.fingerprint,
    )
    fill(driver, "password", "not the password")
    connect(driver)
    wait_until(driver, lambda d: "code 6, wrong password" in text_of(d, "close-reason"), "no wrong-password reason")
    assert not visible(driver, "trust-prompt")
    assert text_of(driver, "status") == "Not connected."
    assert page_state(driver) == "closed"
