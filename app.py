"""Scribe's web app: write multi-line, multi-style handwriting and download it as SVG or PNG.

    python app.py                                  # the shipped checkpoint, on http://127.0.0.1:7860
    python app.py --checkpoint runs/x/checkpoint-3200.pt --checkpoint_dir /content/drive/MyDrive/scribe
    python app.py --share                          # a public link (on by default in Colab)
    python app.py --help                           # every flag, and the environment variables they read

The app itself lives in scribe/web/ (the only package that imports Gradio); `scribe-app` after
`pip install -e .` is the same command.
"""
import sys

from scribe.web.command import main  # no Gradio yet: a bad flag is refused at once
from scribe.web.flags import parse_args  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())

from scribe.web.app import AppSettings, build_demo, launch  # noqa: E402, F401  (the app's API)
