"""`python app.py` and `scribe-app`: check every flag (and the environment variables that stand for them)
before Gradio and the model load, which takes seconds, so that a mistake is refused at once in one line
(scribe.cli); then serve (scribe.web.app.main).
"""
from __future__ import annotations

from .. import cli
from .flags import parse_args


@cli.command
def main(argv=None) -> int:
    parse_args(argv)
    from .app import main as serve
    return serve(argv)
