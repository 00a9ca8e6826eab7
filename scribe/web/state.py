"""The server's state, shared by every session: the settings, the checkpoints it offers, the loaded
models, and the style bank (the shipped styles plus the user's own). No Gradio here.
"""
from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import SHIPPED_DIR, CheckpointError, default_checkpoint, find_checkpoints
from ..hand import DEFAULT_BIAS, Hand
from ..styles import LayeredStyleBank, StyleBank, StyleError
from .forms import DEFAULT_COLOR, DEFAULT_WIDTH, FREE_STYLE
from . import views
from .views import style_choices

DEFAULT_USER_STYLE_DIR = "user_styles"
_ids = itertools.count(1)          # row ids: never reused, so a new row never inherits an old row's values


@dataclass
class AppSettings:
    checkpoint: str | None = None        # explicit model file: --checkpoint or SCRIBE_CHECKPOINT
    checkpoint_dir: str | None = None    # an extra folder listed in the dropdown (e.g. Drive)
    style_dir: str | None = None         # default: checkpoints/styles
    max_steps: int | None = None         # per-line step cap (SCRIBE_MAX_STEPS); None: the sampler's own
    device: str | None = None            # default: cpu, the measured sampling path (README, Speed)
    concurrency: int | None = None       # writes at once; default 2 on CPU, 4 on GPU
    max_queue: int = 64                  # requests waiting beyond this are refused ("queue full")
    user_style_dir: str | None = None    # styles made from the user's own ink; default: user_styles/

    def resolved(self) -> "AppSettings":
        device = self.device or "cpu"   # sampling on CUDA has not been measured: opt in with --device cuda
        return AppSettings(self.checkpoint, self.checkpoint_dir, self.style_dir, self.max_steps, device,
                           self.concurrency or (4 if device.startswith("cuda") else 2), self.max_queue,
                           self.user_style_dir or DEFAULT_USER_STYLE_DIR)


# ---- checkpoints -----------------------------------------------------------------------------------
def checkpoint_label(path: str | Path) -> str:
    """What the menu, /info and messages call a checkpoint: its file and the name of its folder, never
    the folder's place on the server."""
    path = Path(path)
    return f"{path.name}  ({Path(os.path.abspath(path)).parent.name or '/'})"


def list_checkpoints(*folders: str | Path | None, first: str | Path | None = None,
                     shipped_dir: str | Path | None = None) -> list[tuple[str, str]]:
    """(label, path) for every handwriting model in `shipped_dir` and `folders`; `first` (an explicit
    --checkpoint) leads the list even if it lives elsewhere. Duplicates are listed once."""
    shipped_dir = SHIPPED_DIR if shipped_dir is None else shipped_dir
    found = find_checkpoints(*(f for f in (shipped_dir, *folders) if f))   # handwriting models only
    seen, out = set(), []
    for p in ([Path(first)] if first else []) + found:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append((checkpoint_label(p), str(p)))
    return out


def initial_checkpoint(explicit: str | Path | None, choices: list[tuple[str, str]]) -> tuple[str | None, str]:
    """The checkpoint the app starts with, and a message for the UI when there is none.

    Order: --checkpoint / SCRIBE_CHECKPOINT, then the shipped model, then the first file listed.
    """
    if explicit:
        return str(explicit), ""
    try:
        return str(default_checkpoint()), ""   # handwriting models only
    except CheckpointError as e:
        missing = str(e)
    if choices:
        return choices[0][1], ""
    return None, missing


class HandCache:
    """Loaded `Hand`s by checkpoint path, so switching models needs no restart.

    Least recently used models are dropped beyond `max_loaded` to bound memory. A file that changes
    on disk (same path, new mtime) is loaded again. Safe to call from the server's worker threads.
    """

    def __init__(self, style_dir: str | Path | None = None, device: str = "cpu", max_loaded: int = 3,
                 user_style_dir: str | Path | None = None):
        self.style_dir = style_dir
        self.user_style_dir = user_style_dir    # the user's own styles, layered over the bank when present
        self.device = device
        self.max_loaded = max_loaded
        self._hands: OrderedDict[tuple[str, int], Hand] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, int], threading.Lock] = {}

    def get(self, path: str | Path) -> Hand:
        """The Hand for `path`; raises CheckpointError (or StyleError) with a readable message."""
        if not path:
            raise CheckpointError("no checkpoint selected: pick one from the list, or start the app "
                                  "with --checkpoint PATH")
        try:
            real = os.path.realpath(path)
            key = (real, os.stat(real).st_mtime_ns)
        except (OSError, ValueError):   # ValueError: a NUL byte or a lone surrogate in the name
            raise CheckpointError(f"no checkpoint file at {path}") from None
        with self._lock:
            if key in self._hands:
                self._hands.move_to_end(key)
                return self._hands[key]
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:   # one load per file even when several requests ask at once
            with self._lock:
                if key in self._hands:
                    return self._hands[key]
            hand = Hand.load(real, self.style_dir, device=self.device, user_style_dir=self.user_style_dir)
            with self._lock:
                self._hands[key] = hand
                self._loading.pop(key, None)
                for old in [k for k in self._hands if k[0] == real and k != key]:
                    del self._hands[old]
                while len(self._hands) > self.max_loaded:
                    self._hands.popitem(last=False)
        return hand

    def loaded(self) -> list[str]:
        with self._lock:
            return [k[0] for k in self._hands]

    def loaded_hands(self) -> list[Hand]:
        with self._lock:
            return list(self._hands.values())



# ---- styles ----------------------------------------------------------------------------------------
def style_bank(style_dir: str | Path | None = None) -> StyleBank | None:
    """The style bank the app offers, or None when there is none (unprimed writing still works)."""
    try:
        return StyleBank(style_dir)
    except StyleError:
        if style_dir:
            raise
        return None


# ---- the state ---------------------------------------------------------------------------------------
class AppState:
    """Per-server state: settings (resolved), the model cache, the checkpoint choices and the style bank.

    `bank` is the shipped bank layered with the user's own styles; `refresh_styles` builds a new one
    after a style is made, and every reader looks it up here at call time, so none holds a stale bank.
    """

    def __init__(self, settings: AppSettings):
        self.s = settings
        self.user_dir = Path(settings.user_style_dir or DEFAULT_USER_STYLE_DIR)
        for folder in (settings.style_dir, settings.checkpoint_dir, self.user_dir,
                       settings.checkpoint and Path(settings.checkpoint).parent):
            if folder:     # messages name files in these by their folder's name, never its place
                views.SERVER_FOLDERS.add(str(Path(os.path.abspath(folder)).parent))
        self.cache = HandCache(settings.style_dir, settings.device, user_style_dir=settings.user_style_dir)
        try:
            self.shipped, self.bank_error = style_bank(settings.style_dir), ""
        except StyleError as e:
            self.shipped, self.bank_error = None, str(e)
        self.bank: StyleBank | LayeredStyleBank | None = self.shipped
        self._layer_user_styles()
        self.default, self.missing = initial_checkpoint(settings.checkpoint, self.choices())
        # Dropdown choices every style menu offers; made styles are appended, so rows built later offer them.
        self.style_opts: list[tuple[str, str]] = style_choices(self.bank)

    @property
    def max_steps(self) -> int | None:
        return self.s.max_steps

    @property
    def conc(self) -> dict:
        """Event options for every write: they share one concurrency limit."""
        return dict(concurrency_limit=self.s.concurrency, concurrency_id="write")

    # ---- checkpoints ----
    def choices(self) -> list[tuple[str, str]]:
        return list_checkpoints(self.s.checkpoint_dir, first=self.s.checkpoint)

    def checkpoint_name(self, path: str | Path) -> str:
        """A listed checkpoint as /info names it: the file's name (its folder is never shown)."""
        return Path(path).name

    def checkpoint_menu(self) -> list[tuple[str, str]]:
        """The Checkpoint menu's choices: labels as values too, so the page holds no server path."""
        return [(label, label) for label, _ in self.choices()]

    def default_label(self) -> str | None:
        return checkpoint_label(self.default) if self.default else None

    def resolve(self, value) -> str:
        """A checkpoint named by the UI or an API client: blank = the default; else a listed file only,
        by its label, its file name (as /info gives it) or its path."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if not self.default:
                raise CheckpointError(self.missing or "no checkpoint selected")
            return self.default
        if not isinstance(value, str):
            raise CheckpointError(f"checkpoint must be a name from /info (a string), not {type(value).__name__}")
        if not value.isprintable():     # a NUL or a lone surrogate would reach os.path as a ValueError
            raise CheckpointError("a checkpoint name cannot hold a NUL or an unprintable character")
        choices = self.choices()
        for label, path in choices:
            if value in (label, path):
                return path
        for label, path in choices:
            if value == Path(path).name or os.path.realpath(value) == os.path.realpath(path):
                return path
        listed = ", ".join(label for label, _ in choices) or "none"
        raise CheckpointError(f"unknown checkpoint {value[:60]!r}; this server offers: {listed}")

    def hand(self, checkpoint) -> Hand:
        return self.cache.get(self.resolve(checkpoint))

    # ---- styles ----
    def _user_bank(self) -> StyleBank | None:
        try:
            return StyleBank(self.user_dir) if self.user_dir.is_dir() else None
        except StyleError:
            return None

    def _layer_user_styles(self) -> None:
        banks = [b for b in (self.shipped, self._user_bank()) if b is not None]
        if banks:
            self.bank = LayeredStyleBank(banks)

    def refresh_styles(self) -> None:
        """After a style is made: a new layered bank, and every loaded model sees the new style."""
        self._layer_user_styles()
        for hand in self.cache.loaded_hands():
            if self.user_dir.is_dir():
                hand.add_user_styles(self.user_dir)

    def add_style_choice(self, choice: tuple[str, str]) -> None:
        if choice not in self.style_opts:
            self.style_opts.append(choice)

    def style_value(self, style) -> str:
        """A dropdown value for a style id; ids missing from the bank fall back to the model's own hand."""
        ids = self.bank.ids if self.bank else []
        try:
            return str(int(style)) if style is not None and int(style) in ids else FREE_STYLE
        except (TypeError, ValueError):
            return FREE_STYLE

    def new_row(self, text: str = "", style=None, bias=DEFAULT_BIAS, color=DEFAULT_COLOR,
                width=DEFAULT_WIDTH) -> dict:
        return {"id": next(_ids), "text": text, "style": self.style_value(style), "bias": bias,
                "color": color or DEFAULT_COLOR, "width": width or DEFAULT_WIDTH}
