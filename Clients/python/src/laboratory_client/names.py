"""Display name rules (PROTOCOL.md §11), checked before sending to give a clear message. The server
remains the judge; this check counts characters approximately (code points that are not combining
marks), which agrees with Swift's grapheme count for ordinary names."""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARACTERS = 32
MAX_NAME_BYTES = 1024
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _is_white_space(character: str) -> bool:
    # Python's str.isspace() follows the Unicode White_Space property plus a few C0 separators,
    # which are controls (Cc) and rejected anyway.
    return character.isspace()


def display_name_problem(name: str) -> str | None:
    """Why ``name`` would be refused, or ``None`` if it looks acceptable."""
    if not name:
        return "display name is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"display name is longer than {MAX_NAME_BYTES} bytes of UTF-8"
    for character in name:
        if unicodedata.category(character) in _FORBIDDEN_CATEGORIES:
            return f"display name contains a control, format or unassigned character (U+{ord(character):04X})"
    characters = sum(1 for c in name if not unicodedata.category(c).startswith("M"))
    if characters > MAX_NAME_CHARACTERS:
        return f"display name is longer than {MAX_NAME_CHARACTERS} characters"
    if _is_white_space(name[0]) or _is_white_space(name[-1]) or _last_character_starts_with_space(name):
        return "display name starts or ends with whitespace"
    return None


def _last_character_starts_with_space(name: str) -> bool:
    # The last character (grapheme) may be a base followed by combining marks: check its base.
    index = len(name) - 1
    while index > 0 and unicodedata.category(name[index]).startswith("M"):
        index -= 1
    return _is_white_space(name[index])
