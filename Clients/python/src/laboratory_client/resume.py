"""Resuming chat rooms after a reconnection (PROTOCOL.md §17, *Ordering and replay*): a pure state
machine that remembers the rooms joined and the last sequence number seen in each, and turns the
events and join replies of successive connections, fed in the order they arrived, into what the
application sees: each room event once, in order, and a notice where history was lost or the
numbering restarted. It does no I/O: the caller sends the joins (and the leave) it asks for."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import ChatEvent

__all__ = ["HistoryGap", "NumberingRestarted", "RejoinFromStart", "RoomResume"]


@dataclass(frozen=True)
class HistoryGap:
    """Events ``first`` to ``last`` of ``room`` happened while this client was away and are no
    longer held by the server (its replay window was exceeded): they are lost to the client. Comes
    before the room's replayed events."""

    room: str
    first: int
    last: int


@dataclass(frozen=True)
class NumberingRestarted:
    """The server's numbering of ``room`` restarted (a new server run with an in-memory store): the
    rejoin's reply had ``sequence`` (``sequence``) not greater than the last number seen
    (``after``). The room's events are then delivered again from the new run's first held one (a
    :class:`HistoryGap` before them if the new run already holds more than the replay window)."""

    room: str
    after: int
    sequence: int


@dataclass(frozen=True)
class RejoinFromStart:
    """An action: leave ``room`` and join it again with ``after`` 0, to be replayed the new run's
    events that the first rejoin skipped as already seen."""

    room: str


@dataclass
class _Room:
    last: int = 0  # the last sequence number delivered (0: none)
    resuming: bool = False  # a rejoin with after=last is in flight: events are held until its reply
    held: dict[int, ChatEvent] = field(default_factory=dict)  # by sequence number (duplicates merge)


class RoomResume:
    """The rooms this client is in and how far it has seen each. Feed it, in arrival order, every
    chat event (:meth:`event`) and every join reply (:meth:`joined`, :meth:`rejoined`); deliver what
    they return."""

    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}

    @property
    def rooms(self) -> list[str]:
        """The rooms to rejoin after a reconnection, in the order they were joined."""
        return list(self._rooms)

    def last_seen(self, room: str) -> int | None:
        """The last sequence number delivered for ``room`` (0 if none yet); ``None`` if not in it."""
        state = self._rooms.get(room)
        return state.last if state is not None else None

    # ---- joining and leaving by the application ------------------------------------------------

    def joining(self, room: str) -> None:
        """The application is joining ``room`` (a first join, without ``after``): its events are
        delivered as they come from now on."""
        self._rooms.setdefault(room, _Room())

    def joined(self, room: str, sequence: int | None) -> None:
        """The first join's reply: ``sequence`` (the room's latest, the client's own ``joined``) has
        been delivered as an event already; later events are numbered above it."""
        state = self._rooms.get(room)
        if state is not None and sequence is not None:
            state.last = max(state.last, sequence)

    def left(self, room: str) -> None:
        """The application left ``room`` (or its join failed): it is no longer resumed."""
        self._rooms.pop(room, None)

    # ---- events ----------------------------------------------------------------------------------

    def event(self, event: ChatEvent) -> list[ChatEvent]:
        """An event as it arrived: what to deliver now (nothing for a duplicate, or while the
        room's rejoin is in flight). Events without a room (``direct``) and of rooms not tracked
        pass through."""
        state = self._rooms.get(event.room) if event.room is not None else None
        if state is None or event.sequence is None:
            return [event]
        if state.resuming:
            state.held.setdefault(event.sequence, event)
            return []
        if event.sequence <= state.last:
            return []  # already delivered (a replay overlapping what was seen)
        state.last = event.sequence
        return [event]

    # ---- resuming after a reconnection -----------------------------------------------------------

    def reconnected(self) -> dict[str, int]:
        """A new connection is about to rejoin every room: each room's ``after`` (its last sequence
        number seen). Events of a room are held until its rejoin's reply (:meth:`rejoined`)."""
        for state in self._rooms.values():
            state.resuming = True
            state.held.clear()
        return {room: state.last for room, state in self._rooms.items()}

    def rejoined(
        self, room: str, after: int, sequence: int | None, missed_from: int | None = None, missed_to: int | None = None
    ) -> list[ChatEvent | HistoryGap | NumberingRestarted | RejoinFromStart]:
        """The reply to ``join`` with ``after``, once every event that arrived before it has been fed:
        the notices and events to deliver, in order, or a :class:`RejoinFromStart` to carry out
        (after which this room's next :meth:`rejoined` has ``after`` 0)."""
        state = self._rooms.get(room)
        if state is None or not state.resuming:
            return []
        if after > 0 and sequence is not None and sequence <= after:
            # A new numbering: what was held is of the new run, but the replay skipped its events
            # numbered up to `after`; ask for all of them. Nothing old can be told apart any more.
            state.last = 0
            state.held.clear()
            return [NumberingRestarted(room, after, sequence), RejoinFromStart(room)]
        out: list[ChatEvent | HistoryGap | NumberingRestarted | RejoinFromStart] = []
        if missed_from is not None and missed_to is not None and missed_to >= missed_from:
            out.append(HistoryGap(room, missed_from, missed_to))
        for number in sorted(state.held):
            if number > state.last:
                out.append(state.held[number])
                state.last = number
        state.held.clear()
        state.resuming = False
        return out

    def rejoin_failed(self, room: str) -> None:
        """The room could not be rejoined (the server refused the join): it is forgotten."""
        self.left(room)
