"""Saved documents: a small JSON file that writes the same ink again.

    {"scribe_document": 1, "checkpoint": "scribe-iam.pt", "seed": 7,
     "layout": {"size_mm": 6.0, "line_spacing": 1.7, "align": "left"},
     "paper": {"kind": "ruled", "pitch_mm": null, "color": "#a9c4e0"},       (or null)
     "lines": [{"text": "Hello", "style": 3, "bias": 0.75, "color": "#000000", "width": 1.5},
               {"text": "Mine", "style": {"text": "what I wrote", "offsets": [[dx, dy, eos], ...]}, ...}]}

A style is a bank id, or the user's own ink itself (its text and offsets, exactly as in its style
files), so a document made with a style of your own still writes on another machine. Priming depends
only on the style's ink and text, never on its id, so the same seed and checkpoint give the same ink,
byte for byte.
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .candidates import MAX_CANDIDATES, MIN_CANDIDATES
from .errors import InputError
from .files import atomic_write_bytes
from .hand import MAX_LINES, Handwriting, LineSpec
from .render.page import MM_PER_PX, Layout
from .render.paper import PaperOptions
from .styles import style_ids, write_style

FORMAT_VERSION = 1
MAX_DOCUMENT_BYTES = 2_000_000      # a 40-line document with 40 embedded styles is well under this
MAX_STYLE_POINTS = 5000


class DocumentError(InputError):
    """A saved document that cannot be read; the message says what is wrong with it."""
    title = "Cannot read this document"


@dataclass
class EmbeddedStyle:
    text: str
    offsets: np.ndarray     # (T, 3) float32, as in style-N-strokes.npy


@dataclass
class Document:
    specs: list[LineSpec]
    seed: int
    layout: Layout = field(default_factory=Layout)
    paper: PaperOptions | None = None
    checkpoint: str | None = None                 # the file name only, never a server path
    embedded: dict[int, EmbeddedStyle] = field(default_factory=dict)   # line index -> its own ink
    candidates: int = 1      # the legibility check's N the ink was chosen with (same N, same ink)

    # ---- to and from JSON ----
    def to_json(self) -> dict:
        lines = []
        for i, s in enumerate(self.specs):
            style = s.style
            if i in self.embedded:
                e = self.embedded[i]
                style = {"text": e.text, "offsets": [[float(v) for v in row] for row in e.offsets]}
            lines.append({"text": s.text, "style": style, "bias": s.bias, "color": s.color, "width": s.width})
        paper = None if self.paper is None else {"kind": self.paper.kind, "pitch_mm": self.paper.pitch_mm,
                                                 "color": self.paper.color}
        return {"scribe_document": FORMAT_VERSION, "checkpoint": self.checkpoint, "seed": self.seed,
                "candidates": self.candidates,
                "layout": {"size_mm": round(self.layout.x_height_px * MM_PER_PX, 6),
                           "line_spacing": self.layout.line_spacing, "align": self.layout.align},
                "paper": paper, "lines": lines}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False)

    def save(self, path: str | Path) -> Path:
        return atomic_write_bytes(path, self.dumps().encode("utf-8"))

    @classmethod
    def from_json(cls, data) -> "Document":
        if not isinstance(data, dict) or "scribe_document" not in data:
            raise DocumentError("this is not a Scribe document (no \"scribe_document\" field)")
        if data["scribe_document"] != FORMAT_VERSION:
            raise DocumentError(f"document format {data['scribe_document']!r} is not supported "
                                f"(this Scribe reads format {FORMAT_VERSION})")
        problems = []
        seed = data.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            problems.append(f"seed must be a whole number from 0 to {2**32 - 1}, not {seed!r}")
        candidates = data.get("candidates", 1)
        if isinstance(candidates, bool) or not isinstance(candidates, int) \
                or not MIN_CANDIDATES <= candidates <= MAX_CANDIDATES:
            problems.append(f"candidates must be a whole number from {MIN_CANDIDATES} to {MAX_CANDIDATES}, "
                            f"not {str(candidates)[:20]}")
            candidates = 1
        ckpt = data.get("checkpoint")
        if ckpt is not None and not isinstance(ckpt, str):
            problems.append(f"checkpoint must be a file name, not {type(ckpt).__name__}")
        layout = Layout()
        lay = data.get("layout") or {}
        if not isinstance(lay, dict):
            problems.append("layout must be an object with size_mm, line_spacing and align")
        else:
            try:
                layout = Layout.sized(_number(lay.get("size_mm")), _number(lay.get("line_spacing")),
                                      str(lay.get("align") or "left"))
                if layout.align not in ("left", "center", "right"):
                    problems.append(f"align {layout.align!r} must be left, center or right")
            except ValueError as e:
                problems.append(str(e))
        paper = None
        if data.get("paper") is not None:
            p = data["paper"]
            try:
                if not isinstance(p, dict):
                    raise ValueError("paper must be an object with kind, pitch_mm and color, or null")
                paper = PaperOptions(str(p.get("kind", "plain")), _number(p.get("pitch_mm")),
                                     str(p.get("color") or PaperOptions.color)).check()
            except ValueError as e:
                problems.append(str(e))
        rows = data.get("lines")
        specs, embedded = [], {}
        if not isinstance(rows, list) or not rows:
            problems.append("lines must be a non-empty list")
            rows = []
        if len(rows) > MAX_LINES:
            problems.append(f"the document has {len(rows)} lines; the limit is {MAX_LINES}")
            rows = []
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or not isinstance(row.get("text", ""), str):
                problems.append(f"line {n}: expected an object with a text string")
                continue
            style = row.get("style")
            try:
                if isinstance(style, dict):
                    embedded[n - 1] = _embedded_style(style)
                    style = None
                elif style is not None and (isinstance(style, bool) or not isinstance(style, int)):
                    raise ValueError(f"style must be an id, the style's own ink, or null, not {style!r}")
                bias, width = _number(row.get("bias", 0.75)), _number(row.get("width", 1.5))
                if bias is None or width is None:
                    raise ValueError("bias and width must be numbers")
                specs.append(LineSpec(row.get("text", ""), style, bias, str(row.get("color") or "#000000"), width))
            except ValueError as e:
                problems.append(f"line {n}: {e}")
        if problems:
            raise DocumentError("; ".join(problems))
        return cls(specs, seed, layout, paper, ckpt, embedded, candidates)

    @classmethod
    def load(cls, path: str | Path) -> "Document":
        path = Path(path)
        try:
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise DocumentError(f"{path.name} is over the {MAX_DOCUMENT_BYTES} byte limit for a document")
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise DocumentError(f"cannot read {path.name}: {e.strerror or e}") from None
        except RecursionError:
            raise DocumentError(f"{path.name} is nested too deeply to be a Scribe document") from None
        except (UnicodeDecodeError, ValueError) as e:
            raise DocumentError(f"{path.name} is not JSON ({e})") from None
        return cls.from_json(data)

    # ---- writing it ----
    def resolved_specs(self, hand, folder: str | Path | None = None, keep=None) -> list[LineSpec]:
        """The specs, with each embedded style saved (in `folder`, else a temporary one) under an id the
        hand does not use yet, and added to the hand. With `keep(text, offsets) -> id` the caller keeps
        each embedded style itself (an app visitor's session, say): nothing is written or added to
        `hand`, and the caller writes with a hand that sees the ids `keep` gave."""
        if not self.embedded:
            return list(self.specs)
        saving = keep is None
        if saving:
            folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="scribe-document-styles-"))
            taken = set(hand.style_ids) | set(style_ids(folder) if folder.is_dir() else [])
            next_id = max(taken, default=-1) + 1

            def keep(text, offsets):
                nonlocal next_id
                write_style(folder, next_id, text, offsets)
                next_id += 1
                return next_id - 1
        ids = {}
        for e in self.embedded.values():
            key = (e.text, e.offsets.tobytes())
            if key not in ids:
                ids[key] = keep(e.text, e.offsets)
        if saving:
            hand.add_user_styles(folder)
        return [LineSpec(s.text, ids[(self.embedded[i].text, self.embedded[i].offsets.tobytes())]
                         if i in self.embedded else s.style, s.bias, s.color, s.width)
                for i, s in enumerate(self.specs)]

    def write(self, hand, folder: str | Path | None = None, max_steps: int | None = None) -> Handwriting:
        return hand.write(self.resolved_specs(hand, folder), seed=self.seed, layout=self.layout,
                          max_steps=max_steps, candidates=self.candidates)


def document_of(doc: Handwriting, hand, checkpoint: str | Path | None = None, paper: PaperOptions | None = None,
                embed_styles=()) -> Document:
    """The document that writes `doc` again. Lines whose style id is in `embed_styles` (the user's own
    styles) carry the style's ink itself; the others keep the bank id."""
    embed = set(embed_styles)
    embedded = {}
    for i, s in enumerate(doc.specs):
        if s.style is not None and s.style in embed:
            st = hand.styles.get(s.style)
            embedded[i] = EmbeddedStyle(st.text, np.asarray(st.offsets, np.float32))
    name = Path(checkpoint).name if checkpoint else Path(getattr(hand.checkpoint, "path", "") or "").name or None
    check = getattr(doc, "legibility", None)
    candidates = check.candidates if check is not None and check.ran else 1
    return Document(list(doc.specs), doc.seed, doc.layout, paper, name, embedded, candidates)


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _embedded_style(style: dict) -> EmbeddedStyle:
    text, offsets = style.get("text"), style.get("offsets")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an embedded style needs the text its ink says")
    if not isinstance(offsets, list) or not 2 <= len(offsets) <= MAX_STYLE_POINTS:
        raise ValueError(f"an embedded style needs 2-{MAX_STYLE_POINTS} offsets [dx, dy, end_of_stroke]")
    try:
        arr = np.asarray(offsets, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("an embedded style's offsets must be rows of three numbers") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.isfinite(arr).all():
        raise ValueError("an embedded style's offsets must be rows of three finite numbers")
    return EmbeddedStyle(text.strip(), arr.astype(np.float32))
