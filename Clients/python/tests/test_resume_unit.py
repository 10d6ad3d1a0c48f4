"""The rooms' resumption as a pure state machine (laboratory_client.resume): events and replies fed
in arrival order, what comes out is each room event once, in order, with the notices in place."""

from __future__ import annotations

from laboratory_client.events import ChatEvent
from laboratory_client.resume import HistoryGap, NumberingRestarted, RejoinFromStart, RoomResume


def message(room: str, sequence: int, text: str | None = None) -> ChatEvent:
    return ChatEvent("message", 2, "Bob", room=room, sequence=sequence, text=text or f"{room}-{sequence}")


def joined(room: str, sequence: int, sender: int = 1) -> ChatEvent:
    return ChatEvent("joined", sender, "Ada", room=room, sequence=sequence)


def sequences(out) -> list:
    return [item.sequence if isinstance(item, ChatEvent) else item for item in out]


def in_lobby(last: int) -> RoomResume:
    state = RoomResume()
    state.joining("lobby")
    assert sequences(state.event(joined("lobby", 1))) == [1]
    for number in range(2, last + 1):
        assert sequences(state.event(message("lobby", number))) == [number]
    state.joined("lobby", 1)
    return state


def test_first_join_delivers_live_and_remembers_the_last_number():
    state = in_lobby(5)
    assert state.rooms == ["lobby"] and state.last_seen("lobby") == 5
    assert state.last_seen("elsewhere") is None


def test_duplicates_are_dropped_by_sequence():
    state = in_lobby(5)
    assert state.event(message("lobby", 5)) == [] and state.event(message("lobby", 3)) == []
    assert sequences(state.event(message("lobby", 6))) == [6]


def test_events_without_a_room_or_of_other_rooms_pass_through():
    state = in_lobby(2)
    direct = ChatEvent("direct", 2, "Bob", text="psst")
    assert state.event(direct) == [direct]
    other = message("elsewhere", 1)
    assert state.event(other) == [other] and state.event(other) == [other]  # not tracked: not filtered


def test_resume_holds_events_until_the_reply_then_delivers_them_in_order_once():
    state = in_lobby(5)
    assert state.reconnected() == {"lobby": 5}
    # Replayed events, a duplicate of one seen before the cut (a stale `after` from another path),
    # the client's own joined, and someone else's live event before the reply: all held.
    for event in (message("lobby", 5), message("lobby", 6), message("lobby", 7), joined("lobby", 8), message("lobby", 9)):
        assert state.event(event) == []
    assert state.event(message("lobby", 7)) == []
    out = state.rejoined("lobby", after=5, sequence=8)
    assert sequences(out) == [6, 7, 8, 9]
    assert state.last_seen("lobby") == 9
    # Live again: events pass through, duplicates are dropped.
    assert sequences(state.event(message("lobby", 10))) == [10] and state.event(message("lobby", 9)) == []


def test_events_held_out_of_order_come_out_sorted():
    state = in_lobby(3)
    state.reconnected()
    for number in (6, 4, 5):
        state.event(message("lobby", number))
    assert sequences(state.rejoined("lobby", after=3, sequence=6)) == [4, 5, 6]


def test_a_gap_is_announced_before_the_replayed_events():
    state = in_lobby(40)
    state.reconnected()
    for number in range(60, 161):
        state.event(message("lobby", number))
    out = state.rejoined("lobby", after=40, sequence=160, missed_from=41, missed_to=59)
    assert out[0] == HistoryGap("lobby", 41, 59)
    assert sequences(out[1:]) == list(range(60, 161))


def test_a_restarted_numbering_is_announced_and_the_room_replayed_from_its_start():
    state = in_lobby(22)
    state.reconnected()
    # The new run: Bob joined (1) and said two things (2, 3) before this client rejoined with
    # after=22; the server replays nothing above 22 and numbers this client's joined 4.
    assert state.event(joined("lobby", 4)) == []
    out = state.rejoined("lobby", after=22, sequence=4)
    assert out == [NumberingRestarted("lobby", 22, 4), RejoinFromStart("lobby")]
    assert state.last_seen("lobby") == 0
    # Leave and join again with after=0: the whole new run is replayed (the first rejoin's joined
    # and the leave included), then the new joined; a live event may come in between.
    for number in (1, 2, 3, 4, 5, 6, 7):
        assert state.event(message("lobby", number)) == []
    state.event(message("lobby", 6))  # a duplicate from the overlap
    out = state.rejoined("lobby", after=0, sequence=7)
    assert sequences(out) == [1, 2, 3, 4, 5, 6, 7]
    assert sequences(state.event(message("lobby", 8))) == [8]


def test_sequence_equal_to_after_is_a_restart_too():
    state = in_lobby(4)
    state.reconnected()
    assert state.rejoined("lobby", after=4, sequence=4)[0] == NumberingRestarted("lobby", 4, 4)


def test_a_reply_above_after_with_nothing_missed_has_no_notice():
    state = in_lobby(4)
    state.reconnected()
    state.event(joined("lobby", 5))
    out = state.rejoined("lobby", after=4, sequence=5)
    assert sequences(out) == [5]


def test_a_second_cut_during_the_resume_forgets_what_was_held():
    # Held events were not delivered, so the next rejoin asks for them again from the same `after`.
    state = in_lobby(5)
    state.reconnected()
    state.event(message("lobby", 6))
    assert state.reconnected() == {"lobby": 5}
    state.event(message("lobby", 6))
    state.event(message("lobby", 7))
    assert sequences(state.rejoined("lobby", after=5, sequence=7)) == [6, 7]


def test_each_room_resumes_on_its_own():
    state = in_lobby(3)
    state.joining("swift")
    state.event(joined("swift", 10))
    state.joined("swift", 10)
    assert state.reconnected() == {"lobby": 3, "swift": 10}
    state.event(message("swift", 11))
    state.event(message("lobby", 4))
    assert sequences(state.rejoined("swift", after=10, sequence=11)) == [11]
    assert sequences(state.event(message("swift", 12))) == [12]  # swift is live again, lobby is not
    assert state.event(message("lobby", 5)) == []
    assert sequences(state.rejoined("lobby", after=3, sequence=5)) == [4, 5]


def test_leaving_and_failed_rejoins_forget_the_room():
    state = in_lobby(3)
    state.left("lobby")
    assert state.rooms == [] and state.last_seen("lobby") is None
    state = in_lobby(3)
    state.reconnected()
    state.rejoin_failed("lobby")
    assert state.rooms == [] and state.rejoined("lobby", after=3, sequence=9) == []
