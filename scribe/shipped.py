"""Where the shipped files are: the handwriting model, its card, the style bank and the legibility reader.

One source, two places it is read from:
- a checkout (or any copy of the repository: the Dockerfile's, a contributor's clone): its
  `checkpoints/` folder, the files git tracks;
- an installed wheel: `scribe/_data/`, the same files, which setuptools copies from `checkpoints/` when
  it builds the sdist and the wheel (pyproject.toml maps the package `scribe._data` onto the
  `checkpoints/` folder and lists which of its files are package data).

A checkout is recognised by `pyproject.toml` beside the package with `checkpoints/` next to it, so
`python app.py` in a clone keeps using (and listing) the files being worked on, and a wheel installed
anywhere uses its own copy. Nothing here imports torch or numpy.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent / "checkpoints"
INSTALLED_DIR = PACKAGE_DIR / "_data"


def in_checkout() -> bool:
    """True when this `scribe` package is the one in a checkout of the repository."""
    return (PACKAGE_DIR.parent / "pyproject.toml").is_file() and CHECKOUT_DIR.is_dir()


def shipped_dir() -> Path:
    """The folder holding the shipped model, its card (README.md), styles/ and the reader."""
    return CHECKOUT_DIR if in_checkout() else INSTALLED_DIR


SHIPPED_DIR = shipped_dir()
