"""Where Scribe is running, for decisions the front ends make alike (the notebook, the app)."""
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
