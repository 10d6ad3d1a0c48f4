"""``laboratory-gui``: the tkinter desktop client."""
