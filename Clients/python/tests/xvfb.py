"""A private X server (Xvfb) for the GUI tests, and screenshots of it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class Xvfb:
    def __init__(self) -> None:
        binary = shutil.which("Xvfb")
        if binary is None:
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
        read_end, write_end = os.pipe()
        # -displayfd: Xvfb picks a free display number and writes it to the pipe once it is ready.
        self.process = subprocess.Popen(
            [binary, "-displayfd", str(write_end), "-screen", "0", "1024x640x24", "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def screenshot(self, path: Path) -> None:
        """The whole screen as PNG, with ImageMagick's import, or xwd and convert."""
        path.parent.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, "DISPLAY": self.display}
        if shutil.which("import"):
            subprocess.run(["import", "-window", "root", str(path)], env=environment, check=True, timeout=30)
        elif shutil.which("xwd") and shutil.which("convert"):
            dump = subprocess.run(["xwd", "-root", "-silent"], env=environment, check=True, capture_output=True,
                                  timeout=30).stdout
            subprocess.run(["convert", "xwd:-", str(path)], input=dump, check=True, timeout=30)
        else:
            raise RuntimeError("no screenshot tool: install imagemagick")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
