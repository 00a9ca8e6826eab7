"""The app's flags, without Gradio: scribe.web.command checks them before Gradio and the model load, so
a mistake is refused at once in one line (scribe.cli); scribe.web.app.main reads them to serve.
"""
from __future__ import annotations

import argparse
import os

from .. import cli
from ..cost import DEFAULT_BUDGET_S
from ..sampling import MAX_STEP_CAP
from .outputs import DEFAULT_OUTPUT_MAX_MB
from .state import DEFAULT_MAX_SESSIONS, DEFAULT_MAX_USER_STYLES, MAX_SESSION_STYLES


def parse_args(argv=None) -> argparse.Namespace:
    """The app's flags, each checked here (UsageError names a bad one), before anything is loaded; a
    flag left out takes its environment variable, checked the same way."""
    p = cli.ArgumentParser(description="Scribe's web app: multi-line, multi-style handwriting.")
    p.add_argument("--checkpoint", default=os.environ.get("SCRIBE_CHECKPOINT") or None,
                   help="model file to start with (env SCRIBE_CHECKPOINT; default: the shipped checkpoint)")
    p.add_argument("--checkpoint_dir", default=os.environ.get("SCRIBE_CHECKPOINT_DIR") or None,
                   help="an extra folder whose checkpoints the dropdown lists (e.g. your Drive run folder)")
    p.add_argument("--style_dir", default=None, help="style bank folder (default: checkpoints/styles)")
    # Hugging Face Spaces and Docker set these; an explicit flag still wins.
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                   help="address to serve on (0.0.0.0 for every interface; env GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=cli.port, default=None,
                   help="port (env GRADIO_SERVER_PORT; default 7860, or the next free one)")
    p.add_argument("--share", action=argparse.BooleanOptionalAction, default=None,
                   help="make a public gradio.live link (default: on in Colab, off elsewhere)")
    p.add_argument("--max_steps", type=cli.whole(1, MAX_STEP_CAP), default=None,
                   help="hard cap on pen steps per line (env SCRIBE_MAX_STEPS; default: the sampler's cap)")
    p.add_argument("--device", type=cli.device, default=None,
                   help="cpu or cuda (default: cpu, the measured path; sampling on cuda is not measured yet)")
    p.add_argument("--concurrency", type=cli.whole(1, 64), default=None,
                   help="writes at once (default 2 on CPU, 4 on GPU)")
    p.add_argument("--max_queue", type=cli.whole(1, 100_000), default=64, help="requests that may wait in the queue")
    p.add_argument("--user_style_dir", default=os.environ.get("SCRIBE_USER_STYLE_DIR") or None,
                   help="where styles made from your own ink are saved when the app runs on this machine only "
                        "(env SCRIBE_USER_STYLE_DIR; default: user_styles), up to --max_user_styles; beyond that a new "
                        "one stays in its maker's browser session. Served beyond this machine (--share, a --host "
                        "other than loopback, a request through a proxy or tunnel, --private_styles) each "
                        "visitor's styles stay in their browser session.")
    p.add_argument("--private_styles", action="store_true",
                   help="keep each visitor's own styles in their browser session even on loopback (automatic "
                        "with --share, a --host other than loopback, or a request through a proxy or tunnel; "
                        "use it behind a forward that adds no headers, such as ssh -L)")
    p.add_argument("--max_user_styles", type=cli.whole(0, 1_000_000), default=DEFAULT_MAX_USER_STYLES,
                   help=f"the most styles of the visitors' own kept in user_styles/, and the most held in "
                        f"browser sessions (default {DEFAULT_MAX_USER_STYLES}; {MAX_SESSION_STYLES} per session)")
    p.add_argument("--max_sessions", type=cli.whole(1, 1_000_000), default=DEFAULT_MAX_SESSIONS,
                   help=f"sessions held in memory, 0.38 MB each (default {DEFAULT_MAX_SESSIONS}); beyond it the "
                        f"least recently used is dropped, with its rows and its own styles")
    p.add_argument("--max_output_mb", type=cli.whole(1, 10_000_000), default=DEFAULT_OUTPUT_MAX_MB,
                   help=f"result files kept in the temp folder in all, in MB (default {DEFAULT_OUTPUT_MAX_MB}); "
                        f"beyond it the oldest go first, and any older than an hour anyway")
    p.add_argument("--max_request_cost", type=float, default=DEFAULT_BUDGET_S,
                   help=f"the most one write may cost, in estimated seconds of one core (scribe/cost.py; default "
                        f"{DEFAULT_BUDGET_S:g}; 0: no limit): checked before sampling, a request over it has its "
                        f"legibility check lowered, or is refused when even that is not enough")
    args = p.parse_args(argv)
    if not (args.max_request_cost >= 0 and args.max_request_cost < float("inf")):
        p.error(f"--max_request_cost must be a number of seconds, 0 or more, not {args.max_request_cost}")
    if args.port is None:
        args.port = cli.env_value("GRADIO_SERVER_PORT", cli.port)
    if args.max_steps is None:
        args.max_steps = cli.env_value("SCRIBE_MAX_STEPS", cli.whole(1, MAX_STEP_CAP))
    return args
