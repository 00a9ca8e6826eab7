"""Where Scribe is running, for decisions the front ends make alike (the notebook, the app): in
Colab, and whether the app is served beyond this machine."""
from __future__ import annotations

import importlib.util
import os
import sys


def on_colab() -> bool:
    """True on a Colab runtime: in the notebook's kernel, and also in a process it starts
    (`!python app.py`), where google.colab is not imported and Gradio's own check (the IPython shell)
    fails. Colab sets COLAB_RELEASE_TAG in the runtime's environment and installs google.colab."""
    if "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG"):
        return True
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):   # no "google" package at all
        return False


LOOPBACK = {"127.0.0.1", "localhost", "::1", "0:0:0:0:0:0:0:1"}


def served_beyond_this_machine(host: str | None, share: bool | None) -> bool:
    """True when people on other machines can reach the app: a public share link, or a server address
    other than loopback (0.0.0.0, a LAN address, a Space or a container). host None means Gradio's own
    choice: GRADIO_SERVER_NAME, else loopback."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    return bool(share) or (host.strip().lower() not in LOOPBACK and not host.strip().startswith("127."))
