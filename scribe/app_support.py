"""What the Gradio app needs beyond `Hand`: the checkpoint list, a cache of loaded models, style
previews, turning form values into `LineSpec`s, and writing one result to SVG and PNG files.

Nothing here imports Gradio, so it is tested without a server and any other front end can reuse it.
"""
from __future__ import annotations

import html
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import SHIPPED_DIR, CheckpointError, default_checkpoint, find_checkpoints
from .files import atomic_write_bytes
from .hand import BIAS_RANGE, DEFAULT_BIAS, MAX_CHARS_PER_LINE, MAX_LINES, Hand, InputError, LineSpec
from .layout import ALIGNS, wrap_text
from .render import CSS_DPI, InkLine, Layout, layout_page, page_to_svg, svg_to_png
from .styles import Style, StyleBank, StyleError
from . import ink

DEFAULT_COLOR = "#000000"
DEFAULT_WIDTH = 1.5
WIDTH_RANGE = (0.2, 10.0)          # stroke width in px
DEFAULT_DPI = 192
DPI_RANGE = (24, 600)
MAX_PNG_PIXELS = 40_000_000        # ~160 MB of RGBA while rasterising; beyond this the dpi is lowered
SEED_LIMIT = 2**32                 # seeds are 0 .. 2**32-1
DEFAULT_WRAP = 60                  # quick mode wraps at this many characters (IAM lines: median 29, max 64)
FREE_STYLE = "free"                # the style choice meaning "no priming: the model's own average hand"
OUTPUT_MAX_AGE_S = 3600            # result files older than this are removed at the next write

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGB = re.compile(r"rgba?\(\s*[\d.]+%?\s*,\s*[\d.]+%?\s*,\s*[\d.]+%?\s*(?:,\s*[\d.]+%?\s*)?\)$")
# Named colours accepted besides hex and rgb(): the ones people actually write ink in.
NAMED_COLORS = {"black", "white", "gray", "grey", "darkgray", "darkgrey", "dimgray", "dimgrey", "red",
                "darkred", "crimson", "maroon", "green", "darkgreen", "blue", "darkblue", "navy",
                "midnightblue", "royalblue", "purple", "indigo", "brown", "saddlebrown", "orange",
                "teal", "darkslategray", "darkslategrey"}


# ---- checkpoints -----------------------------------------------------------------------------------
def _short_folder(path: Path) -> str:
    parts = path.resolve().parent.parts
    return "/".join(parts[-2:]) if len(parts) > 2 else str(path.parent)


def checkpoint_label(path: str | Path) -> str:
    path = Path(path)
    return f"{path.name}  ({_short_folder(path)})"


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


def describe_checkpoint(hand: Hand) -> str:
    """One line for the UI: which model, how trained, what it can write."""
    c = hand.checkpoint
    parts = [f"step {c.step:,}"]
    nll = c.metrics.get("valid_nll") if isinstance(c.metrics, dict) else None
    if isinstance(nll, (int, float)):
        parts.append(f"validation NLL {nll:.1f} nats/line")
    parts.append(f"{c.config.num_layers}×{c.config.rnn_size} LSTM")
    parts.append(f"{len(hand.alphabet)} characters")
    parts.append(f"{len(hand.style_ids)} styles" if hand.style_ids else "no style bank")
    return " · ".join(parts)


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


def style_choices(bank: StyleBank | None) -> list[tuple[str, str]]:
    """Dropdown choices (label, value): "free" first, then every style by id with a bit of its text."""
    out = [("free (no style)", FREE_STYLE)]
    for i in (bank.ids if bank else []):
        try:
            text = bank.get(i).text
        except StyleError:
            continue
        out.append((f"{i}: {text[:28]}{'…' if len(text) > 28 else ''}", str(i)))
    return out


def style_preview_svg(style: Style, color: str = DEFAULT_COLOR, x_height_px: float = 14.0,
                      width: float = 1.1) -> str:
    """The style's own ink (the real line that primes the model), small, as an SVG string."""
    strokes = style.strokes()
    page = layout_page([InkLine(strokes, color, width)], ink.ink_height(strokes),
                       Layout(x_height_px=x_height_px, line_spacing=2.6, margin_px=3.0))
    return page_to_svg(page)


def style_chart_html(bank: StyleBank | None) -> str:
    """A grid of every style's ink with its id, so users can choose a hand by eye."""
    if bank is None or not bank.ids:
        return ("<p class='scribe-note'>No style bank is loaded (checkpoints/styles/ is missing), so "
                "every line is written in the model's own hand.</p>")
    cards = []
    for i in bank.ids:
        try:
            style = bank.get(i)
            svg = style_preview_svg(style)
        except StyleError as e:
            cards.append(f"<figure class='scribe-style'><figcaption>style {i}: unreadable "
                         f"({html.escape(str(e))})</figcaption></figure>")
            continue
        cards.append(f"<figure class='scribe-style' title='{html.escape(style.text, quote=True)}'>"
                     f"<div class='scribe-style-ink'>{svg}</div><figcaption><b>{i}</b></figcaption></figure>")
    return f"<div class='scribe-style-grid'>{''.join(cards)}</div>"


def style_row_preview(bank: StyleBank | None, choice) -> str:
    """The small preview beside one line's style picker."""
    if choice in (None, "", FREE_STYLE) or bank is None:
        return "<div class='scribe-row-style scribe-note' title='the model&#39;s own hand'>no style</div>"
    try:
        return f"<div class='scribe-row-style'>{style_preview_svg(bank.get(int(choice)), x_height_px=10.0)}</div>"
    except (StyleError, ValueError, TypeError):
        return f"<div class='scribe-row-style scribe-note'>no style {html.escape(str(choice))}</div>"


# ---- form values -> LineSpecs ------------------------------------------------------------------
def parse_style(value, n: int | None = None) -> int | None:
    """A style choice from the UI or the API: None / "" / "free" -> None, else an integer id."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", FREE_STYLE, "none")):
        return None
    if isinstance(value, bool):
        raise InputError(f"{_where(n)}style must be a style id (an integer) or \"free\", not {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{_where(n)}style must be a style id (an integer) or \"free\", not {value!r}") from None
    if not f.is_integer():
        raise InputError(f"{_where(n)}style must be a whole number, not {value!r}")
    return int(f)


def parse_color(value, n: int | None = None) -> str:
    if value in (None, ""):
        return DEFAULT_COLOR
    c = str(value).strip()
    if _HEX.match(c) or _RGB.match(c.lower()) or c.lower() in NAMED_COLORS:
        return c
    raise InputError(f"{_where(n)}ink colour {value!r} is not a colour: use #rrggbb, rgb(r, g, b) or a name "
                     f"such as black, navy or darkblue")


def parse_number(value, name: str, lo: float, hi: float, default: float, n: int | None = None) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{_where(n)}{name} must be a number, not {value!r}") from None
    if not math.isfinite(f) or not lo <= f <= hi:
        raise InputError(f"{_where(n)}{name} {value} is outside the allowed range {lo:g}-{hi:g}")
    return f


def parse_seed(value) -> int | None:
    """Blank means random; otherwise a whole number 0 .. 2**32-1."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(f"seed must be a whole number (or blank for random), not {value!r}") from None
    if math.isnan(f):
        return None
    if not f.is_integer() or not 0 <= f < SEED_LIMIT:
        raise InputError(f"seed must be a whole number from 0 to {SEED_LIMIT - 1} (or blank for random), "
                         f"not {value!r}")
    return int(f)


def parse_dpi(value) -> float:
    return parse_number(value, "PNG resolution (dpi)", *DPI_RANGE, default=DEFAULT_DPI)


def parse_align(value) -> str:
    a = str(value or "left").strip().lower()
    if a not in ALIGNS:
        raise InputError(f"align must be one of {', '.join(ALIGNS)}, not {value!r}")
    return a


def _where(n: int | None) -> str:
    return f"line {n}: " if n is not None else ""


def spec(text, style=None, bias=DEFAULT_BIAS, color=DEFAULT_COLOR, width=DEFAULT_WIDTH,
         n: int | None = None) -> LineSpec:
    """One LineSpec from loosely typed form or API values; InputError names everything wrong with it."""
    problems, values = [], []
    if text is not None and not isinstance(text, str):
        problems.append(f"{_where(n)}text must be a string, not {type(text).__name__}")
    for parse in (lambda: parse_style(style, n),
                  lambda: parse_number(bias, "bias", *BIAS_RANGE, default=DEFAULT_BIAS, n=n),
                  lambda: parse_color(color, n),
                  lambda: parse_number(width, "stroke width", *WIDTH_RANGE, default=DEFAULT_WIDTH, n=n)):
        try:
            values.append(parse())
        except InputError as e:
            problems.append(str(e))
    if problems:
        raise InputError("; ".join(problems))
    return LineSpec(text or "", *values)


def specs_from_rows(rows) -> tuple[list[LineSpec], list[str]]:
    """Per-line rows (dicts with text/style/bias/color/width, or bare strings) -> (specs, notes).

    An empty row inside the document stays as a blank gap, so that "line n" in every message is the
    user's row n; empty rows at the end are dropped. Every problem in every row is reported at once.
    """
    if isinstance(rows, dict) and "lines" in rows:
        rows = rows["lines"]
    if not isinstance(rows, list):
        raise InputError("lines must be a list: each item a string, or an object with text, style, bias, "
                         "color and width")
    specs, problems, gaps = [], [], []
    for n, row in enumerate(rows, start=1):
        if isinstance(row, str) or row is None:
            row = {"text": row}
        if not isinstance(row, dict):
            problems.append(f"line {n}: expected a string or an object, not {type(row).__name__}")
            continue
        unknown_keys = set(row) - {"text", "style", "bias", "color", "width"}
        if unknown_keys:
            problems.append(f"line {n}: unknown field(s) {', '.join(sorted(unknown_keys))}; "
                            f"use text, style, bias, color, width")
            continue
        text = row.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            specs.append(LineSpec(""))
            gaps.append(n)
            continue
        try:
            specs.append(spec(text, row.get("style"), row.get("bias"), row.get("color"), row.get("width"), n=n))
        except InputError as e:
            problems.append(str(e))
    if problems:
        raise InputError("; ".join(problems))
    while specs and not specs[-1].text:
        specs.pop()
    gaps = [n for n in gaps if n <= len(specs)]
    if not specs:
        raise InputError("every line is empty: type some text to write")
    notes = [f"line{'s' if len(gaps) > 1 else ''} {', '.join(map(str, gaps))} "
             f"{'are' if len(gaps) > 1 else 'is'} empty and left as a blank gap (remove it to close the gap)"] \
        if gaps else []
    return specs, notes


def split_block(text: str, wrap_at: int | None = DEFAULT_WRAP) -> tuple[list[str], list[str]]:
    """Quick mode: one block of text -> lines (split on newlines, long lines wrapped at word breaks).

    Blank lines inside the block stay as gaps between paragraphs; blank lines at either end are dropped.
    Returns (lines, notes).
    """
    if text is None or not str(text).strip():
        raise InputError("nothing to write: type some text")
    if wrap_at and not 5 <= int(wrap_at) <= MAX_CHARS_PER_LINE:
        raise InputError(f"wrap width must be between 5 and {MAX_CHARS_PER_LINE} characters, not {wrap_at}")
    raw = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while raw and not raw[0].strip():
        raw.pop(0)
    while raw and not raw[-1].strip():
        raw.pop()
    lines, wrapped = [], 0
    for line in raw:
        line = " ".join(line.split())
        if wrap_at and len(line) > wrap_at:
            lines += wrap_text(line, lambda _: True, max_chars=int(wrap_at))   # words are never split
            wrapped += 1
        else:
            lines.append(line)
    notes = [f"wrapped {wrapped} long line{'s' if wrapped > 1 else ''} at {int(wrap_at)} characters"] \
        if wrapped else []
    return lines, notes


def specs_from_block(text, style=None, bias=DEFAULT_BIAS, color=DEFAULT_COLOR, width=DEFAULT_WIDTH,
                     wrap_at: int | None = DEFAULT_WRAP) -> tuple[list[LineSpec], list[str]]:
    lines, notes = split_block(text, wrap_at)
    if len(lines) > MAX_LINES:
        raise InputError(f"too many lines: {len(lines)} after splitting"
                         f"{' and wrapping' if notes else ''}; the limit is {MAX_LINES} per request")
    first = spec("x", style, bias, color, width)    # validate the shared settings once
    return [LineSpec(t, first.style, first.bias, first.color, first.width) for t in lines], notes


# ---- writing files ---------------------------------------------------------------------------------
@dataclass
class WriteResult:
    svg: str
    svg_path: Path
    png_path: Path
    seed: int
    seconds: float          # the whole request: checking, sampling, layout, SVG and PNG
    dpi: float
    lines: int              # lines of ink written (blank gaps not counted)
    notes: list[str] = field(default_factory=list)
    pages: list = field(default_factory=list)     # the laid-out Page(s), for plotter and animation files

    def summary(self) -> str:
        s = (f"Wrote {self.lines} line{'s' if self.lines != 1 else ''} in {self.seconds:.2f} s · "
             f"seed {self.seed} · PNG {self.dpi:g} dpi")
        return s + "".join(f"\n- {n}" for n in self.notes)


def png_dpi_within_limit(width_px: float, height_px: float, dpi: float,
                         max_pixels: int = MAX_PNG_PIXELS) -> float:
    """`dpi`, lowered if the PNG would exceed `max_pixels` (a 40-line page at 600 dpi would)."""
    scale = dpi / CSS_DPI
    pixels = width_px * height_px * scale * scale
    if pixels <= max_pixels:
        return dpi
    return math.floor(CSS_DPI * math.sqrt(max_pixels / max(1.0, width_px * height_px)))


def output_root() -> Path:
    import tempfile
    return Path(tempfile.gettempdir()) / "scribe-app"


def prune_outputs(root: Path, max_age_s: float = OUTPUT_MAX_AGE_S) -> None:
    """Remove result folders older than `max_age_s` (the server copies results into its own cache)."""
    if not root.is_dir():
        return
    cutoff = time.time() - max_age_s
    for d in root.iterdir():
        try:
            if d.is_dir() and d.stat().st_mtime < cutoff:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def write_files(hand: Hand, specs: list[LineSpec], seed: int | None = None, dpi: float = DEFAULT_DPI,
                align: str = "left", max_steps: int | None = None, out_root: Path | None = None,
                notes: list[str] | None = None) -> WriteResult:
    """Write `specs` with `hand` and save an SVG and a PNG (atomically) in a fresh folder."""
    started = time.perf_counter()
    doc = hand.write(specs, seed=seed, layout=Layout(align=parse_align(align)), max_steps=max_steps)
    page = doc.page()
    svg = page_to_svg(page)
    notes = list(notes or [])
    capped = [i + 1 for i in doc.capped_lines]
    if capped:
        which = f"lines {', '.join(map(str, capped))} hit" if len(capped) > 1 else f"line {capped[0]} hit"
        notes.append(f"{which} the step cap before the text ended, so the ink may be incomplete "
                     f"(a higher bias usually helps)")
    used_dpi = png_dpi_within_limit(page.width, page.height, dpi)
    if used_dpi < dpi:
        notes.append(f"PNG resolution lowered from {dpi:g} to {used_dpi:g} dpi to stay under "
                     f"{MAX_PNG_PIXELS // 1_000_000} megapixels")
    png = svg_to_png(svg, used_dpi)
    root = out_root or output_root()
    prune_outputs(root)
    folder = root / uuid.uuid4().hex
    svg_path = atomic_write_bytes(folder / f"handwriting-{doc.seed}.svg", svg.encode("utf-8"))
    png_path = atomic_write_bytes(folder / f"handwriting-{doc.seed}.png", png)
    lines = sum(1 for ln in doc.lines if ln is not None)
    return WriteResult(svg, svg_path, png_path, doc.seed, time.perf_counter() - started, used_dpi, lines, notes,
                       [page])


def preview_html(svg: str | None) -> str:
    """The result inline, as vector graphics: crisp at any zoom, on white whatever the page theme."""
    if not svg:
        return ("<div class='scribe-preview scribe-empty'>Your handwriting appears here. "
                "Type some text and press <b>Write</b>.</div>")
    return f"<div class='scribe-preview'>{svg}</div>"


def limits_text() -> str:
    return (f"Up to {MAX_LINES} lines of at most {MAX_CHARS_PER_LINE} characters; bias "
            f"{BIAS_RANGE[0]:g}-{BIAS_RANGE[1]:g} (higher is neater); PNG {DPI_RANGE[0]}-{DPI_RANGE[1]} dpi.")
