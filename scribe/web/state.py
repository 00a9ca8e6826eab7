"""The server's state, shared by every session: the settings, the checkpoints it offers, the loaded
models, and the style bank (the shipped styles plus the user's own). No Gradio here.

The visitors' own styles (made from their ink, uploaded, or carried by a saved document) live in one
of two places:
- locally (the app served on this machine only): in user_styles/, offered to every menu, as always,
  while it holds fewer than `max_user_styles`; a style that does not fit is kept in the session of the
  visitor who made it (below), so one client filling the folder never stops another making styles;
- private (a share link, a host other than loopback, --private_styles, or a request that came through a
  proxy or tunnel: scribe.hosting): in each visitor's session only, as a MemoryStyleBank in a gr.State.
  Nothing of one visitor's ink reaches another's menus or the server's disk; they download their
  styles to keep them.
A session holds at most MAX_SESSION_STYLES; all sessions together at most `max_user_styles`, and when
that is reached a new style takes the place of the oldest style of the session holding the most (if
it holds more than the one asking), so nobody is refused while someone else holds more.
A batch (a document's embedded styles, an uploaded zip) is kept whole or not at all.
"""
from __future__ import annotations

import os
import uuid
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..checkpoint import SHIPPED_DIR, CheckpointError, default_checkpoint, find_checkpoints
from ..cost import DEFAULT_BUDGET_S
from ..shipped import INSTALLED_DIR
from ..hand import Hand
from ..request import DEFAULT_BIAS
from ..style_adapters import own_strength
from ..styles import LayeredStyleBank, MemoryStyleBank, Style, StyleBank, StyleError, style_ids
from ..user_style import UserStyle, save_style
from .forms import DEFAULT_COLOR, DEFAULT_WIDTH, FREE_STYLE
from .live import Running
from .outputs import DEFAULT_OUTPUT_MAX_MB
from . import views
from .views import style_choices

DEFAULT_USER_STYLE_DIR = "user_styles"
DEFAULT_USER_MODEL_DIR = "user_models"   # hands learned in the app (scribe.adapt), when served locally
MAX_ADAPTED_MODELS = 20                  # learned hands one server keeps (3.4 MB each for the stand-in)
DEFAULT_MAX_USER_STYLES = 200      # the visitors' own styles one server keeps (user_styles/, or all sessions)
MAX_SESSION_STYLES = 20            # one visitor's own styles, when they are kept per session
SESSION_STYLES_TTL_S = 6 * 3600    # a session's styles are dropped this long after it last made one
# Sessions the server holds in memory. Gradio keeps each one's copy of the page's settings (0.38 MB for
# this page: benchmarks/session_memory.py) until it is one of the least recently used beyond this many,
# and every API call without a session (raw HTTP) starts one; Gradio's default of 10,000 would let a
# loop of such calls take ~4 GB. An evicted browser tab loses its rows and its own styles.
DEFAULT_MAX_SESSIONS = 128


@dataclass
class AppSettings:
    checkpoint: str | None = None        # explicit model file: --checkpoint or SCRIBE_CHECKPOINT
    checkpoint_dir: str | None = None    # an extra folder listed in the dropdown (e.g. Drive)
    style_dir: str | None = None         # default: checkpoints/styles
    max_steps: int | None = None         # per-line step cap (SCRIBE_MAX_STEPS); None: the sampler's own
    device: str | None = None            # default: cpu, the measured sampling path (benchmarks/sample_speed.py)
    concurrency: int | None = None       # writes at once; default 2 on CPU, 4 on GPU
    max_queue: int = 64                  # requests waiting beyond this are refused ("queue full")
    user_style_dir: str | None = None    # styles made from the user's own ink; default: user_styles/
    private_styles: bool | None = None   # own styles per session (served beyond this machine); None: no
    max_user_styles: int = DEFAULT_MAX_USER_STYLES
    max_sessions: int = DEFAULT_MAX_SESSIONS
    max_output_mb: int = DEFAULT_OUTPUT_MAX_MB   # result files kept in all (the oldest go first)
    max_request_cost: float | None = DEFAULT_BUDGET_S   # seconds one write may cost (scribe.cost); None: no limit

    def resolved(self) -> "AppSettings":
        device = self.device or "cpu"   # sampling on CUDA has not been measured: opt in with --device cuda
        return AppSettings(self.checkpoint, self.checkpoint_dir, self.style_dir, self.max_steps, device,
                           self.concurrency or (4 if device.startswith("cuda") else 2), self.max_queue,
                           self.user_style_dir or DEFAULT_USER_STYLE_DIR, bool(self.private_styles),
                           max(0, int(self.max_user_styles)), max(1, int(self.max_sessions)),
                           max(1, int(self.max_output_mb)), self.max_request_cost)


# ---- checkpoints -----------------------------------------------------------------------------------
def checkpoint_label(path: str | Path) -> str:
    """What the menu, /info and messages call a checkpoint: its file and the name of its folder, never
    the folder's place on the server."""
    path = Path(path)
    folder = Path(os.path.abspath(path)).parent
    # the installed copy of checkpoints/ (scribe/_data) is named as in a checkout
    name = "checkpoints" if folder == Path(os.path.abspath(INSTALLED_DIR)) else folder.name
    return f"{path.name}  ({name or '/'})"


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

    def __init__(self, style_dir: str | Path | None = None, device: str = "cpu", max_loaded: int = 3):
        self.style_dir = style_dir
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
            hand = Hand.load(real, self.style_dir, device=self.device)
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
@dataclass(frozen=True)
class SharedStyles:
    """Which styles every visitor shares now: one value, replaced whole (never changed) under the state's
    lock, so that a reader sees the privacy, the bank and the menu of one moment together."""
    private: bool                                  # the visitors' own styles are kept per session
    bank: StyleBank | LayeredStyleBank | None      # the shipped styles, with user_styles/ when shared
    menu: tuple = ()                               # a style menu's shared choices: style_choices(bank)
    user: StyleBank | None = None                  # user_styles/ as last read (when shared)


class AppState:
    """Per-server state: settings (resolved), the model cache, the checkpoint choices and the style bank.
    Read-only once the page is built, except the registry of the visitors' own styles and learned hands,
    all under one lock (`_own_lock`): the styles every visitor shares (`SharedStyles`: `private`, `bank`,
    `style_opts`, replaced whole), the sessions' banks, the learned hands, and the views of the cached
    hands that see user_styles/.

    `bank` is the shipped bank layered with the user's own styles; `refresh_styles` builds a new one
    after a style is made, and every reader looks it up here at call time, so none holds a stale bank.
    The cached Hands (HandCache) see the shipped styles only and are never changed: a write that may use
    user_styles/ gets a view of one (Hand.with_styles), made once per version of that folder's bank.
    """

    def __init__(self, settings: AppSettings):
        self.s = settings
        self.user_dir = Path(settings.user_style_dir or DEFAULT_USER_STYLE_DIR)
        # hands learned in the app (see keep_model), beside the user's styles
        self.models_dir = self.user_dir.parent / DEFAULT_USER_MODEL_DIR
        # messages name files in these folders by the folder's name, never its place (views.shown_text)
        self.folders = tuple(str(Path(os.path.abspath(folder)).parent) for folder in (
            settings.style_dir, settings.checkpoint_dir, self.user_dir,
            settings.checkpoint and Path(settings.checkpoint).parent) if folder)
        self._own_lock = threading.Lock()  # the one lock of the registry of own styles and learned hands
        self.cache = HandCache(settings.style_dir, settings.device)     # shipped styles only: see hand()
        self.running = Running()           # the live writes running now, by session (Stop waits for them)
        try:
            self.shipped, self.bank_error = style_bank(settings.style_dir), ""
        except StyleError as e:
            self.shipped, self.bank_error = None, str(e)
        self._shared = SharedStyles(bool(settings.private_styles), self.shipped, tuple(style_choices(self.shipped)))
        self._user_views: dict = {}        # (cached hand's id) -> (that hand, its user bank, a view seeing it)
        if not self.private:
            self._layer_user_styles()
            self._shared = replace(self._shared, menu=tuple(style_choices(self.bank)))   # with user_styles/
        self.default, self.missing = initial_checkpoint(settings.checkpoint, self.choices())
        self._sessions: weakref.WeakSet = weakref.WeakSet()    # every live session's own styles (private)
        # Hands learned in the app. Locally: files in user_models/, listed for everyone. Private: files in
        # a temporary folder under unguessable names, known (by label) only to the session that made them.
        self._learned: OrderedDict[str, str] = OrderedDict()     # private mode: label -> path, oldest first
        self._private_models: Path | None = None

    # ---- the styles every visitor shares now (SharedStyles) ----
    @property
    def private(self) -> bool:
        return self._shared.private

    @property
    def bank(self) -> StyleBank | LayeredStyleBank | None:
        return self._shared.bank

    @property
    def style_opts(self) -> list[tuple[str, str]]:
        """The choices every style menu offers (the shared styles)."""
        return list(self._shared.menu)

    def shown(self, text) -> str:
        """Text for the page: this server's folders cut, HTML escaped (views.shown_text)."""
        return views.shown_text(text, self.folders)

    @property
    def max_steps(self) -> int | None:
        return self.s.max_steps

    @property
    def max_request_cost(self) -> float | None:
        return self.s.max_request_cost

    @property
    def conc(self) -> dict:
        """Event options for every write: they share one concurrency limit."""
        return dict(concurrency_limit=self.s.concurrency, concurrency_id="write")

    # ---- checkpoints ----
    def choices(self) -> list[tuple[str, str]]:
        return list_checkpoints(self.s.checkpoint_dir, None if self.private else self.models_dir,
                                first=self.s.checkpoint)

    # ---- hands learned in the app (scribe.adapt) ----
    def new_model_path(self) -> Path:
        """Where the next learned hand is saved; CheckpointError when the server keeps its most."""
        import secrets
        import tempfile
        if self.private:
            with self._own_lock:
                if self._private_models is None:
                    self._private_models = Path(tempfile.mkdtemp(prefix="scribe-hands-"))
            return self._private_models / f"my-hand-{secrets.token_hex(8)}.safetensors"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        taken = sorted(self.models_dir.glob("my-hand-*.safetensors"))
        if len(taken) >= MAX_ADAPTED_MODELS:
            raise CheckpointError(f"{self.models_dir.name}/ holds {len(taken)} learned hands, the most this "
                                  f"server keeps; delete some of them to make room")
        n = 1
        while (self.models_dir / f"my-hand-{n}.safetensors").exists():
            n += 1
        return self.models_dir / f"my-hand-{n}.safetensors"

    def keep_model(self, path: str | Path) -> str:
        """Offer a learned hand saved at `path`; returns its label (the Checkpoint menu's value). Private:
        only to whoever holds the label; the oldest beyond MAX_ADAPTED_MODELS are deleted."""
        label = checkpoint_label(path)
        if self.private:
            with self._own_lock:
                self._learned[label] = str(path)
                while len(self._learned) > MAX_ADAPTED_MODELS:
                    _, old = self._learned.popitem(last=False)
                    Path(old).unlink(missing_ok=True)
        return label

    def menu_with(self, label: str | None) -> list[tuple[str, str]]:
        """The Checkpoint menu, plus a learned hand of this session's (private mode) when not listed."""
        menu = self.checkpoint_menu()
        if label and all(v != label for _, v in menu):
            menu.append((label, label))
        return menu

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
        with self._own_lock:
            learned = self._learned.get(value)
        if learned is not None:                        # a learned hand, named by the session that made it
            return learned
        choices = self.choices()
        for label, path in choices:
            if value in (label, path):
                return path
        for label, path in choices:
            if value == Path(path).name or os.path.realpath(value) == os.path.realpath(path):
                return path
        listed = ", ".join(label for label, _ in choices) or "none"
        raise CheckpointError(f"unknown checkpoint {value[:60]!r}; this server offers: {listed}")

    def hand(self, checkpoint, own: MemoryStyleBank | None = None) -> Hand:
        """The model for `checkpoint`; locally, a view of it that also sees user_styles/; with a session's
        own styles, a view that also sees them. The cached Hand itself is never changed."""
        hand = self.cache.get(self.resolve(checkpoint))
        with self._own_lock:
            user = self._shared.user
            if user is not None and len(user.ids):
                seen = self._user_views.get(id(hand))
                if seen is None or seen[0] is not hand or seen[1] is not user:
                    seen = (hand, user, hand.with_styles(user))
                    self._user_views[id(hand)] = seen
                    for key in [k for k, (h, _, _) in self._user_views.items() if h not in self.cache.loaded_hands()]:
                        del self._user_views[key]             # models the cache has dropped
                hand = seen[2]
        return hand.with_styles(own) if own is not None and len(own) else hand

    def shipped_style_menu(self) -> list[tuple[str, str]]:
        """A style menu as the page is built: the shipped styles only (wire_menus adds the rest per page)."""
        return style_choices(self.shipped)

    def listed_checkpoint_menu(self) -> list[tuple[str, str]]:
        """The Checkpoint menu as the page is built: no hand learned here (wire_menus adds them per page)."""
        return [(label, label) for label, _ in list_checkpoints(self.s.checkpoint_dir, first=self.s.checkpoint)]

    # ---- styles ----
    def _user_bank(self) -> StyleBank | None:
        try:
            return StyleBank(self.user_dir) if self.user_dir.is_dir() else None
        except StyleError:
            return None

    def _layer_user_styles(self) -> None:
        user = self._user_bank()
        banks = [b for b in (self.shipped, user) if b is not None]
        with self._own_lock:
            if not self._shared.private:
                bank = LayeredStyleBank(banks) if banks else None
                self._shared = replace(self._shared, bank=bank, user=user)

    def refresh_styles(self) -> None:
        """After a style is made: a new layered bank, and new views of the models that see it (hand())."""
        self._layer_user_styles()

    def add_style_choice(self, choice: tuple[str, str]) -> None:
        """Offer a new style in every menu; only where styles are shared (locally)."""
        with self._own_lock:
            if not self._shared.private and choice not in self._shared.menu:
                self._shared = replace(self._shared, menu=self._shared.menu + (choice,))

    def style_value(self, style, own: MemoryStyleBank | None = None) -> str:
        """A dropdown value for a style id; ids missing from the bank (and from the session's own
        styles) fall back to the model's own hand."""
        ids = (self.bank.ids if self.bank else []) + (own.ids if own is not None else [])
        try:
            return str(int(style)) if style is not None and int(style) in ids else FREE_STYLE
        except (TypeError, ValueError, OverflowError):
            return FREE_STYLE

    def new_row(self, text: str = "", style=None, bias=DEFAULT_BIAS, color=DEFAULT_COLOR,
                width=DEFAULT_WIDTH, own: MemoryStyleBank | None = None, likeness=None) -> dict:
        # a fresh id each: a new row never inherits an old row's values (tabs.lines_tab)
        value = self.style_value(style, own)
        own_likeness = self.likeness_of(value, own)
        return {"id": uuid.uuid4().hex[:12], "text": text, "style": value, "bias": bias,
                "color": color or DEFAULT_COLOR, "width": width or DEFAULT_WIDTH,
                "likeness": None if own_likeness is None else (own_likeness if likeness is None else likeness)}

    def likeness_of(self, style, own: MemoryStyleBank | None = None) -> float | None:
        """A style choice's own likeness (the strength its fitted hand is written at by default), or None
        for a choice without a fitted hand (the model's own hand, a user's style)."""
        bank = self.bank_for(own)
        try:
            return None if bank is None or style in (None, "", FREE_STYLE) else own_strength(bank.get(int(style)))
        except (StyleError, ValueError, TypeError, OverflowError):
            return None

    # ---- the visitors' own styles ----
    def bank_for(self, own: MemoryStyleBank | None = None):
        """The styles one session sees: the shared bank, with its own styles when it has any."""
        if own is None or not len(own):
            return self.bank
        return LayeredStyleBank(([self.bank] if self.bank is not None else []) + [own])

    def style_menu(self, own: MemoryStyleBank | None = None) -> list[tuple[str, str]]:
        """A style menu's choices for one session: the shared ones, then the session's own."""
        mine = [views.style_choice(st.style_id, st.text) for st in own.styles()] if own is not None else []
        return list(self.style_opts) + mine

    def own_style_ids(self, own: MemoryStyleBank | None = None) -> list[int]:
        """The user's own styles (a saved document carries their ink, not just their ids): the session's,
        and locally those in user_styles/ too."""
        mine = own.ids if own is not None else []
        if self.private:
            return mine
        return sorted(set(style_ids(self.user_dir) if self.user_dir.is_dir() else []) | set(mine))

    def own_styles(self, own: MemoryStyleBank | None = None) -> list[Style]:
        """The styles of this session's own that only it holds (its your-styles.zip)."""
        return own.styles() if own is not None else []

    def in_session(self, style_id: int, own: MemoryStyleBank | None) -> bool:
        """Whether a style the user kept is held by their session only (private mode, or user_styles/
        was full), rather than in user_styles/ for everyone on this machine."""
        return self.private or (own is not None and style_id in own.ids)

    def session_styles(self) -> int:
        """Own styles held by every live session."""
        return sum(len(b) for b in list(self._sessions))

    def keep_style(self, text: str, offsets, own: MemoryStyleBank | None = None
                   ) -> tuple[int, MemoryStyleBank | None]:
        """Keep one of the user's own styles (see keep_styles). Returns (its id, the session's bank)."""
        ids, own = self.keep_styles([(text, offsets)], own)
        return ids[0], own

    def keep_styles(self, items, own: MemoryStyleBank | None = None) -> tuple[list[int], MemoryStyleBank | None]:
        """Keep the user's own styles, all or none: [(text, offsets), ...] -> (their ids, the session's
        bank, made when None and needed). The same text and ink again keep the id they have.

        Locally they go to user_styles/ (every menu on this machine) while it holds fewer than
        max_user_styles; when they would not all fit, they are kept for this session only, as when the
        app is served beyond this machine (private). So nobody filling the folder locks others out.
        In a session: at most MAX_SESSION_STYLES each; all sessions together at most max_user_styles,
        and when that is reached a new style takes the place of the oldest style of the session that
        holds the most, if it holds more than this one. Raises StyleError, keeping none, otherwise."""
        items = [(str(t), np.asarray(o, np.float32)) for t, o in items]
        key = lambda t, o: (t, o.shape, o.tobytes())                      # noqa: E731
        shipped = self.shipped.ids if self.shipped is not None else []
        with self._own_lock:
            known: dict = {key(st.text, st.offsets): st.style_id for st in (own.styles() if own is not None else [])}
            bank = None if self.private else self._user_bank()
            n = len(bank) if bank is not None else 0
            for i in (bank.ids if bank is not None else []):
                try:
                    st = bank.get(i)
                except StyleError:
                    continue
                known.setdefault(key(st.text, st.offsets), i)
            new = {}
            for t, o in items:
                if key(t, o) not in known:
                    new.setdefault(key(t, o), (t, o))
            in_folder = bool(new) and not self.private and n + len(new) <= self.s.max_user_styles
            if in_folder:
                taken = set(shipped) | {i for b in list(self._sessions) for i in b.ids}
                for k, (t, o) in new.items():
                    known[k] = save_style(UserStyle(t, o), self.user_dir, avoid_ids=taken)
                    taken.add(known[k])
            elif new:
                own = self._keep_in_session(list(new.values()), own, shipped, full=None if self.private else n)
                for k, (t, o) in new.items():
                    known[k] = own.find(t, o)
        if in_folder:
            self.refresh_styles()
            for k, (t, _) in new.items():
                self.add_style_choice(views.style_choice(known[k], t))
        return [known[key(t, o)] for t, o in items], own

    def _keep_in_session(self, new, own, shipped, full: int | None):
        """Add `new` styles to the session's own bank (see keep_styles); called under _own_lock.
        `full`: locally, how many styles user_styles/ holds (it had no room for them)."""
        cap = self.s.max_user_styles
        held = len(own) if own is not None else 0
        where = "" if full is None else (f"{self.user_dir.name}/ holds {full} of its {cap} styles, so new ones "
                                         f"are kept for your session only, but ")
        if held + len(new) > MAX_SESSION_STYLES:
            adds = f" and this adds {len(new)}" if len(new) > 1 else ""
            raise StyleError(f"{where}you have {held} styles of your own{adds}, the most one visitor keeps is "
                             f"{MAX_SESSION_STYLES}; download them (Your styles), then reload the page to start "
                             f"afresh")
        # Fair share of the server's room: take a style from whoever holds the most, never from one
        # holding no more than this session.
        others = {id(b): [b, len(b)] for b in list(self._sessions) if b is not own and len(b)}
        victims, need = [], self.session_styles() + len(new) - cap
        while need > 0:
            top = max(others.values(), key=lambda e: e[1], default=None)
            if top is None or top[1] <= held:
                raise StyleError(f"this server already holds {cap} styles made by its visitors, its limit, and "
                                 f"nobody holds more than you; try again later, or run Scribe on your own machine")
            top[1] -= 1
            victims.append(top[0])
            need -= 1
        for b in victims:
            b.drop_oldest()
        if own is None:
            taken = shipped + (style_ids(self.user_dir) if not self.private and self.user_dir.is_dir() else [])
            own = MemoryStyleBank(first_id=max(taken, default=-1) + 1)
            self._sessions.add(own)
        avoid = shipped + (style_ids(self.user_dir) if not self.private and self.user_dir.is_dir() else [])
        for t, o in new:
            own.add(t, o, avoid_ids=avoid)
        return own

    def make_private(self) -> None:
        """Keep the visitors' own styles per session from now on (the app is about to be served beyond
        this machine): user_styles/ is no longer offered, and the page's menus hold the shared styles only."""
        with self._own_lock:
            self._shared = SharedStyles(True, self.shipped, tuple(style_choices(self.shipped)))
            self._user_views = {}
