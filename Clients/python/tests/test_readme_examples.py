"""Every Python example in ``Clients/python/README.md`` prints what the README says it prints.

Each ```python block is followed by a ```text block with its output. The test runs each example,
as a user would paste it, in a child Python against a real server of its own (the wrong-password
example earns a penalty), with only the placeholders filled in: the address ``"127.0.0.1",
12800`` becomes the server's, ``password="..."`` its password, ``"SHA256:..."`` its fingerprint."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from laboratory_server import PASSWORD, start_server

README = Path(__file__).resolve().parents[1] / "README.md"
SOURCE = Path(__file__).resolve().parents[1] / "src"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def examples() -> list[tuple[str, str]]:
    """(code, expected output) for each ```python block and the ```text block after it."""
    blocks = [(match.group(1), match.group(2)) for match in FENCE.finditer(README.read_text())]
    pairs = []
    for index, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        assert following[0] == "text", f"the example must be followed by a ```text block of its output:\n{code}"
        pairs.append((code, following[1]))
    return pairs


EXAMPLES = examples()


def test_the_readme_has_its_examples() -> None:
    assert len(EXAMPLES) == 4  # asyncio, the handshake error, blocking, reconnecting


@pytest.mark.parametrize("code, expected", EXAMPLES, ids=["asyncio", "handshake-error", "blocking", "reconnecting"])
def test_example_prints_what_the_readme_says(code, expected, tmp_path, isolated_home) -> None:
    server = start_server(tmp_path / "server-state")
    try:
        address = '"127.0.0.1", 12800'
        assert address in code
        program = code.replace(address, f'"{server.host}", {server.port}')
        program = program.replace('password="..."', f"password={PASSWORD!r}")
        program = program.replace('Pinned("SHA256:...")', f'Pinned("{server.fingerprint}")')
        environment = {**os.environ, "PYTHONPATH": str(SOURCE)}
        run = subprocess.run(
            [sys.executable, "-c", program], env=environment, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout == expected, f"printed:\n{run.stdout}\nthe README says:\n{expected}"
    finally:
        server.stop()
