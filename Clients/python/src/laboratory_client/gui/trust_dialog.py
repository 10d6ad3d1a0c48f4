"""The explicit trust step for a server key seen for the first time."""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Callable


class TrustDialog(tk.Toplevel):
    """Shows the fingerprint and asks; ``on_answer(True)`` only for an explicit Trust."""

    def __init__(self, parent: tk.Misc, endpoint: str, fingerprint: str, known_hosts: Path,
                 on_answer: Callable[[bool], None]) -> None:
        super().__init__(parent)
        self.title("Trust this server?")
        self.resizable(False, False)
        self.transient(parent)
        self._on_answer = on_answer
        self._answered = False
        frame = ttk.Frame(self, padding=14)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=f"The server at {endpoint} presents a key this client has not seen before.",
                  wraplength=460).pack(anchor="w")
        ttk.Label(frame, text="Compare its fingerprint with the one the server's operator gave you:",
                  wraplength=460).pack(anchor="w", pady=(8, 2))
        shown = tk.Entry(frame, width=58, font=("TkFixedFont", 10), relief="flat")
        shown.insert(0, fingerprint)
        shown.configure(state="readonly")
        shown.pack(anchor="w", pady=(0, 8))
        ttk.Label(frame, text=f"Trusting records it in {known_hosts}; a different key will then be refused.",
                  wraplength=460).pack(anchor="w")
        buttons = ttk.Frame(frame)
        buttons.pack(anchor="e", pady=(12, 0))
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=lambda: self._answer(False))
        self.cancel_button.pack(side="right")
        self.trust_button = ttk.Button(buttons, text="Trust and connect", command=lambda: self._answer(True))
        self.trust_button.pack(side="right", padx=(0, 8))
        self.protocol("WM_DELETE_WINDOW", lambda: self._answer(False))
        self.bind("<Escape>", lambda _: self._answer(False))
        self.cancel_button.focus_set()  # Return does not trust by accident

    def _answer(self, trusted: bool) -> None:
        if self._answered:
            return
        self._answered = True
        self.destroy()
        self._on_answer(trusted)
