"""What a line typed in the message entry means, as in the terminal client: a plain line is said in
the current room (or echoed when in none); slash commands do the rest."""

from __future__ import annotations

from dataclasses import dataclass

HELP = (
    "A plain line goes to your current room (the last joined), or to the echo service when you are in "
    "none. Commands: /join ROOM, /leave [ROOM], /who [ROOM], /rooms, /msg ID TEXT, /rename NAME, "
    "/rekey, /ping, /help"
)


@dataclass(frozen=True)
class Command:
    verb: str  # say, join, leave, who, rooms, msg, rename, rekey, ping, help, invalid
    argument: str | None = None
    target: int | None = None  # for msg


def parse_line(line: str) -> Command | None:
    """The command for ``line``; ``None`` for an empty line."""
    if not line.strip():
        return None
    if not line.startswith("/") or line.startswith("//"):
        return Command("say", line[1:] if line.startswith("//") else line)
    verb, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    verb = verb.lower()
    if verb == "join":
        return Command("join", rest) if rest and " " not in rest else Command("invalid", "usage: /join ROOM")
    if verb in ("leave", "who"):
        return Command(verb, rest or None)
    if verb in ("rooms", "rekey", "ping", "help"):
        return Command(verb)
    if verb == "rename":
        return Command("rename", rest) if rest else Command("invalid", "usage: /rename NAME")
    if verb == "msg":
        target, _, text = rest.partition(" ")
        if target.isdigit() and text.strip():
            return Command("msg", text, int(target))
        return Command("invalid", "usage: /msg ID TEXT")
    return Command("invalid", f"unknown command /{verb}; /help lists the commands")
