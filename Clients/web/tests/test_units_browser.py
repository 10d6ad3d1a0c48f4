"""The client's pure parts (state machines, pin store, names, backoff) checked in headless Chromium
by tests/units.html; each check is one test here."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from conftest import new_browser

CHECKS = [
    "handshake_table", "handshake_name_retry", "closing_retry_ms", "handshake_answers", "handshake_closing_in_every_step", "handshake_unopenable",
    "session_requests_and_renames", "session_rejects_handshake_messages", "session_closing_is_last",
    "messages_sizes", "pin_store", "display_names", "display_text", "room_names", "chat_json_double_range", "backoff",
]


@pytest.fixture(scope="module")
def results(static_site):
    driver = new_browser()
    try:
        driver.set_script_timeout(60)
        driver.get(f"{static_site}/tests/units.html")
        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return window.unitsReady === true"))
        outcome = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.runUnits().then(done, (e) => done([{name: 'run', ok: false, detail: String(e)}]));"
        )
    finally:
        driver.quit()
    return {entry["name"]: entry for entry in outcome}


def test_the_page_runs_every_check(results):
    assert sorted(results) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_unit(results, check):
    assert results[check]["ok"], results[check]["detail"]
