"""The chat service (PROTOCOL.md §17): JSON requests, replies and events."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import RequestError
from .events import CHAT_SERVICE as SERVICE
from .events import ChatEvent, chat_json
from .session import Session

__all__ = ["SERVICE", "ChatEvent", "ChatMember", "ChatReply", "ChatRoom", "Chat", "request_body"]


@dataclass(frozen=True)
class ChatMember:
    id: int
    name: str


@dataclass(frozen=True)
class ChatRoom:
    name: str
    members: int


@dataclass(frozen=True)
class ChatReply:
    """A successful reply; fields that do not apply to the op are ``None``."""

    members: list[ChatMember] | None = None
    sequence: int | None = None
    replayed: int | None = None
    missed_from: int | None = None
    missed_to: int | None = None
    rooms: list[ChatRoom] | None = None
    #: ``rooms``, ``who``, ``join``: the cursor for the next page, if more follow.
    next: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: bytes) -> "ChatReply":
        data = chat_json(body) if body else {}
        if not isinstance(data, dict):
            raise ValueError("a chat reply is a JSON object")
        members = data.get("members")
        rooms = data.get("rooms")
        return cls(
            members=[ChatMember(int(m["id"]), str(m["name"])) for m in members] if members is not None else None,
            sequence=data.get("sequence"),
            replayed=data.get("replayed"),
            missed_from=data.get("missedFrom"),
            missed_to=data.get("missedTo"),
            rooms=[ChatRoom(str(r["name"]), int(r["members"])) for r in rooms] if rooms is not None else None,
            next=data.get("next"),
            raw=data,
        )


def request_body(op: str, **fields: Any) -> bytes:
    """The request as the protocol's strict JSON (PROTOCOL.md §17): numbers only as integers, so
    a ``float`` or ``bool`` where an integer belongs is refused here rather than by the server, as
    is an integer beyond a double's range (``ValueError``)."""
    for key, value in fields.items():
        if isinstance(value, (bool, float)):
            raise TypeError(f"chat field {key!r} must be an integer or text, not {type(value).__name__}")
        if isinstance(value, int):
            try:
                float(value)
            except OverflowError:
                raise ValueError(f"chat field {key!r}: integer beyond a double's range") from None
    payload = {"op": op, **{key: value for key, value in fields.items() if value is not None}}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Chat:
    """Chat requests over a session: ``await Chat(session).join("lobby")``. Failures raise
    :class:`RequestError` (status 2 with the server's message). The session knows nothing of chat
    (this module sits above it); pushed chat events arrive as ``ServiceEvent.chat``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def _call(self, op: str, **fields: Any) -> ChatReply:
        return ChatReply.parse(await self._session.request(SERVICE, request_body(op, **fields)))

    async def join(self, room: str, after: int | None = None) -> ChatReply:
        return await self._call("join", room=room, after=after)

    async def leave(self, room: str) -> ChatReply:
        return await self._call("leave", room=room)

    async def rooms_page(self, after: str | None = None, limit: int | None = None) -> ChatReply:
        """One page of rooms in name order; pass the reply's ``next`` as ``after`` for the next."""
        return await self._call("rooms", after=after, limit=limit)

    async def rooms(self) -> list[ChatRoom]:
        """Every room, fetched page by page (waiting when the server's listing rate is reached)."""
        rooms: list[ChatRoom] = []
        cursor: str | None = None
        while True:
            reply = await self._retrying("rooms", after=cursor)
            rooms += reply.rooms or []
            cursor = reply.next
            if cursor is None:
                return rooms

    async def who_page(self, room: str, after: str | None = None, limit: int | None = None) -> ChatReply:
        """One page of a room's members in id order; ``next`` as for :meth:`rooms_page`."""
        return await self._call("who", room=room, after=after, limit=limit)

    async def who(self, room: str) -> list[ChatMember]:
        """Every member of ``room``, fetched page by page like :meth:`rooms`."""
        members: list[ChatMember] = []
        cursor: str | None = None
        while True:
            reply = await self._retrying("who", room=room, after=cursor)
            members += reply.members or []
            cursor = reply.next
            if cursor is None:
                return members

    async def _retrying(self, op: str, **fields: Any) -> ChatReply:
        while True:
            try:
                return await self._call(op, **fields)
            except RequestError as error:
                if error.retry_after is None:
                    raise
                await asyncio.sleep(error.retry_after)

    async def say(self, room: str, text: str) -> int | None:
        """Says ``text`` in ``room``; returns the message's sequence number."""
        return (await self._call("say", room=room, text=text)).sequence

    async def direct(self, to: int, text: str) -> None:
        await self._call("direct", to=to, text=text)
