"""The known-hosts format (PROTOCOL.md §4) on the cases the Swift tests share
(``known_hosts_cases.json``): endpoint keys, comments, malformed lines, and rewriting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import laboratory_client as lab
from laboratory_client.known_hosts import endpoint_key

CASES = json.loads((Path(__file__).parent / "known_hosts_cases.json").read_text(encoding="utf-8"))


def test_endpoint_keys() -> None:
    for case in CASES["endpoints"]:
        assert endpoint_key(case["host"], case["port"]) == case["key"], case


def test_lookups(tmp_path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(CASES["file"].encode("utf-8"))
    known = lab.KnownHosts(path)
    for case in CASES["lookups"]:
        assert known.lookup(case["host"], case["port"]) == case["fingerprint"], case


def test_add_keeps_comments_and_malformed_lines_and_replaces_the_entry(tmp_path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(CASES["file"].encode("utf-8"))
    known = lab.KnownHosts(path)
    known.add("HOST.example", 1, "SHA256:replaced")
    known.add("::1", 12800, "SHA256:new")
    text = path.read_text(encoding="utf-8")
    assert known.lookup("host.example", 1) == "SHA256:replaced"
    # Every entry for the endpoint is replaced, the first and the ignored second alike.
    assert "SHA256:one\n" not in text and "second-entry-ignored" not in text
    assert "# a comment\n" in text and "malformed-no-port SHA256:x\n" in text
    assert text.endswith("host.example:1 SHA256:replaced\n[::1]:12800 SHA256:new\n")



def test_a_pin_of_another_form_is_refused_as_malformed_not_as_a_mismatch() -> None:
    good = "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q"  # PROTOCOL.md's test vector
    assert lab.Pinned(good).fingerprint == good
    for bad in ["SHA256:nope", good + "=", good[:-1], "sha256:" + good[7:], good[7:], "MD5:" + good[7:],
                "SHA256:" + "-" * 43, " " + good]:
        with pytest.raises(ValueError, match="is not a key fingerprint"):
            lab.Pinned(bad)
