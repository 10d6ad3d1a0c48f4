"""Reads the ```vector blocks of Docs/PROTOCOL.md: ``name: hex`` lines, indented lines continuing."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(os.environ.get("LABORATORY_REPO", Path(__file__).resolve().parents[3]))
PROTOCOL_DOCUMENT = REPO_ROOT / "Docs" / "PROTOCOL.md"


def document_text() -> str:
    return PROTOCOL_DOCUMENT.read_text(encoding="utf-8")


def parse_vectors(text: str) -> dict[str, bytes]:
    vectors: dict[str, str] = {}
    for block in re.findall(r"^```vector\n(.*?)^```", text, flags=re.S | re.M):
        current = None
        for line in block.splitlines():
            if not line.strip():
                continue
            if line[0].isspace():
                assert current is not None, f"continuation line without a name: {line!r}"
                vectors[current] += line.strip()
            else:
                name, _, value = line.partition(":")
                current = name.strip()
                assert current not in vectors, f"vector {current} defined twice"
                vectors[current] = value.strip()
    return {name: bytes.fromhex(value) for name, value in vectors.items()}


def load_vectors() -> dict[str, bytes]:
    return parse_vectors(document_text())
