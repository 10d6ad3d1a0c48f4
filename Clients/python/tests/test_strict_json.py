"""Chat request bodies follow PROTOCOL.md §17's strict JSON rules: integers stay integers."""

from __future__ import annotations

from laboratory_client.chat import request_body


def test_chat_request_bodies_are_strict_json() -> None:
    """Integers stay integers, and a float or bool is refused before anything is sent."""
    assert request_body("join", room="lobby", after=7) == b'{"op":"join","room":"lobby","after":7}'
    for bad in (7.0, True):
        try:
            request_body("join", room="lobby", after=bad)
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} was accepted as an integer")
