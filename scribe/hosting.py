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


# Headers a reverse proxy, a load balancer or a tunnel service adds to what it passes on. A request that
# reaches a loopback server with one of these came from somewhere else, whatever its socket says.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-server",
                 "x-real-ip", "via", "cf-connecting-ip", "true-client-ip", "x-client-ip", "fly-client-ip")


def _loopback_name(host: str) -> bool:
    name = host.strip().lower()
    if name.startswith("["):                          # [::1]:7860
        name = name[1:name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:                        # localhost:7860
        name = name.split(":")[0]
    return name in LOOPBACK or name.startswith("127.") or name == ""


def came_through_proxy(headers) -> str | None:
    """Why a request to this server came from another machine although it was sent to a loopback
    address, or None: a header a proxy or tunnel adds (X-Forwarded-For, Forwarded, X-Real-IP, Via, ...),
    or a Host header naming something other than this machine (a tunnel service, a proxy passing the
    public name on). `headers`: (name, value) pairs, str or bytes, names in any case. A plain TCP
    forward that changes neither (ssh -L, a proxy told to send Host: localhost) cannot be told apart:
    start the app with --private_styles behind one."""
    for name, value in headers:
        name = (name.decode("latin-1") if isinstance(name, bytes) else str(name)).lower()
        if name in PROXY_HEADERS:
            return f"a {name} header"
        if name == "host":
            value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            if not _loopback_name(value):
                return f"the Host header {value[:80]!r}"
    return None
