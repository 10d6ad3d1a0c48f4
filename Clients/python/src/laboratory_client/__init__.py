"""Client library for the Laboratory protocol, version 1 (``Docs/PROTOCOL.md``).

    import asyncio, laboratory_client as lab

    async def main():
        trust = lab.KnownHosts(accept_new=True)
        async with lab.connect("127.0.0.1", 12800, password="...", name="ada", trust=trust) as session:
            print(await session.echo("hello"))

    asyncio.run(main())
"""

from . import blocking
from .backoff import Backoff, retry_floor
from .chat import Chat, ChatEvent, ChatMember, ChatReply, ChatRoom
from .codes import CloseCode, Status
from .connection_state import ConnectionLost, Ended, Reconnecting, RejoinFailed, Resumed
from .crypto import fingerprint
from .errors import (
    HandshakeError,
    LaboratoryError,
    NotConnected,
    ProtocolError,
    RequestError,
    ServerKeyMismatch,
    SessionClosed,
    Step,
    UnknownServerKey,
)
from .events import Closed, ServerStopping, ServiceEvent, SessionEvent
from .messages import NameRejected
from .known_hosts import Custom, KnownHosts, Pinned, ServerTrust, default_known_hosts_path
from .names import display_name_problem
from .reconnecting import ReconnectingChat, ReconnectingEvent
from .resume import HistoryGap, NumberingRestarted
from .session import DEFAULT_PORT, Session, connect

__all__ = [
    "blocking", "Chat", "ChatEvent", "ChatMember", "ChatReply", "ChatRoom", "CloseCode", "Status",
    "fingerprint", "HandshakeError", "LaboratoryError", "ProtocolError", "RequestError",
    "ServerKeyMismatch", "SessionClosed", "Step", "UnknownServerKey", "Closed", "ServerStopping",
    "ServiceEvent", "SessionEvent", "Custom", "KnownHosts", "Pinned", "ServerTrust",
    "default_known_hosts_path", "display_name_problem", "NameRejected", "DEFAULT_PORT", "Session", "connect",
    "Backoff", "retry_floor", "ConnectionLost", "Ended", "Reconnecting", "RejoinFailed", "Resumed", "NotConnected",
    "ReconnectingChat", "ReconnectingEvent", "HistoryGap", "NumberingRestarted",
]
