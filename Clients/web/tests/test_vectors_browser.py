"""(a) The page's framing and crypto code against PROTOCOL.md's test vectors, in headless Chromium
with WebCrypto: tests/vectors.html reports pass or fail per check; each is one test here."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from conftest import new_browser, save_screenshot
from vectors import document_text, parse_vectors

CHECKS = [
    "fingerprint", "transport_key_signed_bytes", "transport_key_signature", "hello_payload",
    "hello_length_prefix", "hello_sha256", "hkdf_info", "okm", "session_keys", "nonces",
    "message_payloads", "sealed_frames", "sealed_frame_tampering", "handshake_machine",
    "handshake_refuses", "unsealed_frames", "refusal_frame", "name_rejected_frame", "key_update", "key_update_frames",
    "key_update_request_answered",
]


@pytest.fixture(scope="module")
def results(static_site):
    text = document_text()
    table = {name: value.hex() for name, value in parse_vectors(text).items()}
    fingerprint = re.search(r"identity key\s+\(fingerprint `(SHA256:[A-Za-z0-9+/]+)`", text).group(1)
    driver = new_browser()
    try:
        driver.set_script_timeout(60)
        driver.get(f"{static_site}/tests/vectors.html")
        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return window.vectorsReady === true"))
        outcome = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.runVectors(arguments[0], arguments[1]).then(done, (e) => done([{name: 'run', ok: false, detail: String(e)}]));",
            table, fingerprint,
        )
        shown = driver.find_element("id", "summary").text
        save_screenshot(driver, "vectors")
    finally:
        driver.quit()
    by_name = {entry["name"]: entry for entry in outcome}
    assert shown == f"{sum(e['ok'] for e in outcome)} of {len(outcome)} checks passed"
    return by_name


def test_the_page_runs_every_check(results):
    assert sorted(results) == sorted(CHECKS), "the page's checks and this list differ"


@pytest.mark.parametrize("check", CHECKS)
def test_vector(results, check):
    entry = results.get(check)
    assert entry is not None, f"the page did not run {check}"
    assert entry["ok"], entry["detail"]
