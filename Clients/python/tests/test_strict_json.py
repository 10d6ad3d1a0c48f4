"""Chat request bodies follow PROTOCOL.md §17's strict JSON rules: integers stay integers; replies
and events with an integer beyond a double's range are refused."""

from __future__ import annotations

import pytest

from laboratory_client.chat import ChatReply, request_body
from laboratory_client.events import CHAT_SERVICE, ChatEvent, ServiceEvent


def test_chat_request_bodies_are_strict_json() -> None:
    """Integers stay integers, and a float or bool is refused before anything is sent."""
    assert request_body("join", room="lobby", after=7) == b'{"op":"join","room":"lobby","after":7}'
    for bad in (7.0, True):
        try:
            request_body("join", room="lobby", after=bad)
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} was accepted as an integer")


THRESHOLD = 2**1024 - 2**970
"""The first integer beyond a double's range: it rounds to infinity (309 digits)."""

DOUBLE_RANGE_CASES = [
    ("9" * 308, True),
    (str(THRESHOLD - 1), True),
    (str(-(THRESHOLD - 1)), True),
    (str(THRESHOLD), False),
    (str(-THRESHOLD), False),
    ("9" * 309, False),
    ("5" * 310, False),
    ("-" + "1" * 10_000, False),
]


def test_replies_and_events_refuse_integers_beyond_a_doubles_range() -> None:
    """PROTOCOL.md §17: an integer beyond a double's range is refused, at any depth, as the server
    refuses it (the Swift StrictJSONTests.doubleRange cases); one below the threshold is read exactly."""
    assert len(str(THRESHOLD)) == 309
    for digits, accepted in DOUBLE_RANGE_CASES:
        for body in (f'{{"a":{digits}}}', f'{{"op":"rooms","x":[1,{{"y":{digits}}}]}}'):
            event = f'{{"kind":"message","from":1,"name":"Ada","room":"r","sequence":1,"n":{body}}}'.encode()
            if accepted:
                reply = ChatReply.parse(body.encode())
                number = reply.raw["a"] if "a" in reply.raw else reply.raw["x"][1]["y"]
                assert number == int(digits)
                assert ServiceEvent(CHAT_SERVICE, event).chat is not None
                continue
            for parse in (ChatReply.parse, ChatEvent.parse):
                with pytest.raises(ValueError) as refused:
                    parse(body.encode() if parse is ChatReply.parse else event)
                assert str(refused.value) == "integer beyond a double's range", (len(digits), body[:8])
            assert ServiceEvent(CHAT_SERVICE, event).chat is None


def test_request_bodies_refuse_integers_beyond_a_doubles_range() -> None:
    """What the client writes conforms too: an integer beyond a double's range is refused."""
    assert request_body("x", n=THRESHOLD - 1) == b'{"op":"x","n":' + str(THRESHOLD - 1).encode() + b"}"
    for bad in (THRESHOLD, -THRESHOLD, 10**10_000):
        with pytest.raises(ValueError, match="integer beyond a double's range"):
            request_body("x", n=bad)
