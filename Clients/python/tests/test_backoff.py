"""Reconnection delays (exponential backoff with full jitter) and which endings allow reconnecting."""

from __future__ import annotations

import random
import statistics

import pytest

import laboratory_client as lab
from laboratory_client.backoff import FINAL_CLOSE_CODES, Backoff, retry_floor


def test_defaults_are_half_a_second_doubling_to_thirty():
    backoff = Backoff()
    assert (backoff.initial, backoff.maximum, backoff.multiplier) == (0.5, 30.0, 2.0)
    assert [backoff.ceiling(attempt) for attempt in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_the_ceiling_is_capped_without_overflow():
    # A client left reconnecting for days reaches huge attempt numbers; 2.0 ** 5000 overflows.
    assert Backoff().ceiling(5000) == 30.0
    assert Backoff(initial=1, maximum=7, multiplier=3).ceiling(10**6) == 7
    assert [Backoff(initial=1, maximum=7, multiplier=3).ceiling(a) for a in range(4)] == [1, 3, 7, 7]
    assert [Backoff(initial=2, maximum=2, multiplier=1).ceiling(a) for a in range(3)] == [2, 2, 2]


@pytest.mark.parametrize("initial, maximum, multiplier", [(0, 1, 2), (-1, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_nonsense_settings_are_refused(initial, maximum, multiplier):
    with pytest.raises(ValueError):
        Backoff(initial=initial, maximum=maximum, multiplier=multiplier)
    with pytest.raises(ValueError):
        Backoff().ceiling(-1)


def test_bounds_of_full_jitter():
    # The delay is random() times the ceiling: 0 at one end, just under the ceiling at the other.
    backoff = Backoff()
    for attempt in range(12):
        ceiling = backoff.ceiling(attempt)
        assert backoff.delay(attempt, random=lambda: 0.0) == 0.0
        high = backoff.delay(attempt, random=lambda: 0.999999)
        assert ceiling * 0.9999 < high < ceiling
        assert backoff.delay(attempt, random=lambda: 0.5) == ceiling / 2


def test_jitter_spreads_over_the_whole_range():
    # Full jitter, not "equal jitter" (half fixed, half random) nor none: many clients cut at once
    # must not come back in step. Seeded, so the figures are the same on every run.
    generator = random.Random(16)
    backoff = Backoff()
    samples = [backoff.delay(3, random=generator.random) for _ in range(4000)]  # ceiling 4 s
    assert all(0 <= sample < 4 for sample in samples)
    assert min(samples) < 0.05 and max(samples) > 3.95
    assert 1.9 < statistics.mean(samples) < 2.1  # uniform on [0, 4): mean 2
    below_half = sum(sample < 2 for sample in samples) / len(samples)
    assert 0.47 < below_half < 0.53
    assert len({round(sample, 6) for sample in samples}) > 3990  # continuous, not a handful of steps


def test_the_default_random_source_is_used_and_varies():
    samples = {Backoff().delay(6) for _ in range(50)}
    assert all(0 <= sample < 30 for sample in samples) and len(samples) > 40


def test_a_lockout_is_a_floor():
    # A locked-out address's refusal names its wait (retry_ms): connecting earlier is refused again.
    backoff = Backoff()
    assert backoff.delay(0, floor=12.0, random=lambda: 0.9) == 12.0
    assert backoff.delay(8, floor=12.0, random=lambda: 0.9) == 27.0  # the jittered wait is longer
    assert backoff.delay(8, floor=45.0, random=lambda: 0.9) == 45.0  # above the maximum too


@pytest.mark.parametrize("code", [5, 9, 10, 12, 13, 15, 16, 99])
def test_endings_that_allow_reconnecting(code):
    # PROTOCOL.md §17, Reconnecting and resuming: everything not listed as final, 99 (unknown) too.
    assert retry_floor(lab.SessionClosed(code, "x")) == 0.0
    assert retry_floor(lab.HandshakeError(lab.Step.PASSWORD, "closed", "x", code=code, server_message="x")) == 0.0


@pytest.mark.parametrize("code", [1, 2, 3, 4, 6, 7, 8, 11, 14, 17])
def test_endings_that_forbid_reconnecting(code):
    # 17 is a kick (PROTOCOL.md §14: a client MUST NOT reconnect automatically).
    assert retry_floor(lab.SessionClosed(code, "x")) is None
    assert retry_floor(lab.HandshakeError(lab.Step.PASSWORD, "closed", "x", code=code, server_message="x")) is None
    assert code in FINAL_CLOSE_CODES


def test_handshake_failures():
    step = lab.Step
    # Transient: the server is away or restarting.
    assert retry_floor(lab.HandshakeError(step.CONNECT, "network", "refused")) == 0.0
    assert retry_floor(lab.HandshakeError(step.CONNECT, "timeout", "slow")) == 0.0
    assert retry_floor(lab.HandshakeError(step.HELLO, "closed", "closed before its hello")) == 0.0
    assert retry_floor(lab.HandshakeError(step.PASSWORD, "closed", "stopping", code=9, server_message="s")) == 0.0
    assert retry_floor(lab.HandshakeError(step.HELLO, "refused", "busy", code=15, server_message="busy")) == 0.0
    # A lockout's refusal: not before its retry_ms.
    locked = lab.HandshakeError(step.HELLO, "refused", "locked", code=15, server_message="m", retry_after=12.5)
    assert retry_floor(locked) == 12.5
    # Final: the same attempt would fail the same way, or the server forbids it.
    wrong_password = lab.HandshakeError(step.PASSWORD, "closed", "wrong", code=6, server_message="wrong password")
    assert retry_floor(wrong_password) is None
    assert retry_floor(lab.ServerKeyMismatch("changed", "SHA256:" + "A" * 43, "SHA256:" + "B" * 43)) is None
    assert retry_floor(lab.UnknownServerKey("h:1", "SHA256:" + "A" * 43)) is None
    for kind in ("bad certificate", "not laboratory", "unsupported version", "protocol violation",
                 "decryption failed", "invalid name", "name rejected"):
        assert retry_floor(lab.HandshakeError(step.HELLO, kind, "x")) is None, kind
    assert retry_floor(lab.HandshakeError(step.NAME, "name rejected", "x", code=7, server_message="x")) is None


def test_other_errors():
    assert retry_floor(ConnectionResetError()) == 0.0
    assert retry_floor(lab.ProtocolError("bad")) is None
    assert retry_floor(ValueError("a bug")) is None
