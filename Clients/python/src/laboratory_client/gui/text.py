"""Untrusted text made safe to show: nothing from the network may fake lines or reorder text."""

from __future__ import annotations

import unicodedata

REPLACEMENT = "\ufffd"


def clean(text: str) -> str:
    """Newlines become ``↵``, tabs spaces, and every other control or format character (C0, DEL,
    C1, bidirectional overrides and isolates, zero-width characters) ``�``."""
    result = []
    for character in text:
        if character == "\n":
            result.append("\u21b5")
        elif character == "\t":
            result.append(" ")
        elif unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            result.append(REPLACEMENT)
        else:
            result.append(character)
    return "".join(result)
