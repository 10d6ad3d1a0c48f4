"""The client's display-name check (PROTOCOL.md §11) agrees with the server on the byte limit."""

from laboratory_client.names import MAX_NAME_BYTES, display_name_problem


def test_one_character_over_the_byte_limit_is_refused() -> None:
    # One character: a base letter and combining acute accents (2 bytes each).
    longest = "a" + "\u0301" * 511
    assert len(longest.encode()) == MAX_NAME_BYTES - 1 == 1023
    assert display_name_problem(longest + "b") is None
    problem = display_name_problem(longest + "\u0301")
    assert problem is not None and "1024 bytes" in problem
