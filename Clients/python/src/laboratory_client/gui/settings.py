"""The last server and name, remembered in ``$XDG_CONFIG_HOME/laboratory/gui.json`` (else
``~/.config/laboratory/gui.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..known_hosts import config_directory
from ..session import DEFAULT_PORT


def settings_path() -> Path:
    return config_directory() / "gui.json"


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    name: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        path = path or settings_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        settings = cls()
        if isinstance(data.get("host"), str):
            settings.host = data["host"]
        if isinstance(data.get("port"), int) and 0 < data["port"] < 65536:
            settings.port = data["port"]
        if isinstance(data.get("name"), str):
            settings.name = data["name"]
        return settings

    def save(self, path: Path | None = None) -> None:
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)
