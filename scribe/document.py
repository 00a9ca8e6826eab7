"""Saved documents: a write request and the ink it wrote, side by side, in one JSON file.

    {"scribe_document": 2, "checkpoint": "scribe-iam.pt", "seed": 7, "candidates": 4, "max_steps": null,
     "layout": {"size_mm": 6.0, "line_spacing": 1.7, "align": "left"},
     "paper": {"kind": "ruled", "pitch_mm": null, "color": "#a9c4e0"},       (or null)
     "lines": [{"text": "Hello", "style": 3, "bias": 0.75, "color": "#000000", "width": 1.5},
               {"text": "Mine", "style": {"text": "what I wrote", "offsets": [[dx, dy, eos], ...]}, ...}],
     "ink": {"height": 30.1, "lines": [{"points": 412, "xy": "<base64>", "eos": "<base64>", "capped": false},
                                       null, ...]}}

Everything but "scribe_document", "checkpoint" and "ink" is the request's own JSON form
(scribe.request.WriteRequest.to_json), so a Document *is* a WriteRequest with its ink.

Opening a document (`open`) shows exactly the page it saved, on any machine and with any model or
bank: the ink is the written offsets themselves. Sampling is not the same byte for byte across CPUs
(nor across two starts of the app when the packed-weights choice falls on the other side of its
margin), so writing the request again from its seed (`write_again`) is a separate, named action that
may give other ink. The ink is stored exactly: each line's dx, dy as little-endian float32 and its
pen lifts as bits, zlib-compressed and base64-encoded: about 10 bytes a point in the file (8 lines of
the shipped model, 3,972 points: a 42 kB document), so a full 40-line page is about 200 kB; half
precision would have moved the page by its rounding, summed along each line.

A style is a bank id, or the user's own ink itself (its text and offsets, exactly as in its style
files), so a document made with a style of your own can be written again on another machine.
Format 1 (a request without ink) is still read; it can only be written again.
"""
from __future__ import annotations

import base64
import binascii
import json
import tempfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import InputError
from .files import atomic_write_bytes
from .request import MAX_LINES, LineSpec, WriteRequest, json_number
from .render.paper import PaperOptions
from .result import Note, Result, line_page
from .sampling import MAX_STEP_CAP
from .styles import MAX_STYLE_POINTS, style_ids, write_style

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)            # 1: the request only, written again from its seed
MAX_DOCUMENT_BYTES = 8_000_000        # 40 lines of ink at a few hundred points each are well under this
MAX_INK_POINTS = MAX_STEP_CAP         # points of one line: at most one per pen step


class DocumentError(InputError):
    """A saved document that cannot be read; the message says what is wrong with it."""
    title = "Cannot read this document"


@dataclass
class EmbeddedStyle:
    text: str
    offsets: np.ndarray     # (T, 3) float32, as in style-N-strokes.npy


@dataclass
class SavedLine:
    """One line's ink as a document keeps it (a Result's line, without the sampler's details)."""
    offsets: np.ndarray     # (T, 3) float32: dx, dy, end of stroke
    hit_cap: bool = False


@dataclass
class Document(WriteRequest):
    """A WriteRequest (with the seed it was written with) and, from format 2 on, the ink it wrote."""
    checkpoint: str | None = None                 # the file name only, never a server path
    embedded: dict[int, EmbeddedStyle] = field(default_factory=dict)   # line index -> its own ink as style
    ink: list[SavedLine | None] | None = None     # per line (None: a blank line); None: not kept (format 1)
    ink_height: float | None = None               # the model's typical ink height, in the ink's units

    # ---- to and from JSON ----
    def to_json(self) -> dict:
        data = {"scribe_document": FORMAT_VERSION, "checkpoint": self.checkpoint, **super().to_json()}
        for i, e in self.embedded.items():
            data["lines"][i]["style"] = {"text": e.text, "offsets": [[float(v) for v in row] for row in e.offsets]}
        if self.ink is not None:
            data["ink"] = {"height": self.ink_height, "lines": [None if ln is None else _ink_json(ln) for ln in self.ink]}
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False)

    def save(self, path: str | Path) -> Path:
        return atomic_write_bytes(path, self.dumps().encode("utf-8"))

    @classmethod
    def from_json(cls, data) -> "Document":
        if not isinstance(data, dict) or "scribe_document" not in data:
            raise DocumentError("this is not a Scribe document (no \"scribe_document\" field)")
        version = data["scribe_document"]
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise DocumentError(f"document format {repr(version)[:20]} is not supported "
                                f"(this Scribe reads formats {', '.join(map(str, READABLE_VERSIONS))})")
        problems, embedded = [], {}
        ckpt = data.get("checkpoint")
        if ckpt is not None and not isinstance(ckpt, str):
            problems.append(f"checkpoint must be a file name, not {type(ckpt).__name__}")
            ckpt = None
        seed = data.get("seed")
        if seed is None:
            problems.append("seed must be a whole number: a document keeps the seed it was written with")
        rows = data.get("lines")
        if isinstance(rows, list) and len(rows) <= MAX_LINES:
            rows = list(rows)
            for n, row in enumerate(rows, start=1):
                if isinstance(row, dict) and isinstance(row.get("style"), dict):
                    try:
                        embedded[n - 1] = _embedded_style(row["style"])
                    except ValueError as e:
                        problems.append(f"line {n}: {e}")
                    rows[n - 1] = {**row, "style": None}
        request = None
        try:
            # format 1 kept no candidates when it wrote without the check; the JSON form's default is 4
            request = WriteRequest.from_json({"candidates": 1, **data, "lines": rows})
        except InputError as e:
            problems.append(str(e))
        ink, height = None, None
        if version >= 2 and data.get("ink") is not None:
            try:
                ink, height = _ink_from_json(data["ink"], rows if isinstance(rows, list) else [])
            except ValueError as e:
                problems.append(f"ink: {e}")
        if problems:
            raise DocumentError("; ".join(problems))
        return cls(**vars(request), checkpoint=ckpt, embedded=embedded, ink=ink, ink_height=height)

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

    # ---- opening it: the saved ink ----
    @property
    def has_ink(self) -> bool:
        return self.ink is not None

    def open(self) -> Result:
        """The page exactly as it was written, from the saved ink: no model is needed, and none is run."""
        if self.ink is None:
            raise DocumentError("this document keeps no ink (format 1): write it again from its seed instead")
        request = WriteRequest(list(self.lines), self.seed, self.layout, self.paper, self.candidates, self.max_steps)
        page = line_page(request.lines, self.ink, self.ink_height, self.layout)
        return Result(request, [page], [s.text for s in self.lines], list(self.ink), self.ink_height, self.seed, 0.0)

    # ---- writing it again: the request, sampled anew from its seed ----
    def resolved_specs(self, hand, folder: str | Path | None = None, keep=None) -> list[LineSpec]:
        """The specs, with each embedded style saved (in `folder`, else a temporary one) under an id the
        hand does not use yet, and added to the hand. With `keep(text, offsets) -> id` the caller keeps
        each embedded style itself (an app visitor's session, say): nothing is written or added to
        `hand`, and the caller writes with a hand that sees the ids `keep` gave."""
        if not self.embedded:
            return list(self.lines)
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
        return [replace(s, style=ids[(self.embedded[i].text, self.embedded[i].offsets.tobytes())])
                if i in self.embedded else s for i, s in enumerate(self.lines)]

    def write_again(self, hand, folder: str | Path | None = None, max_steps: int | None = None) -> Result:
        """The request written again with `hand` from the document's seed, N and step cap (`max_steps`
        overrides it): the same ink only with the same checkpoint on a machine that samples alike (see
        the module docstring); another checkpoint is a warning in the result's notes."""
        request = WriteRequest(self.resolved_specs(hand, folder), self.seed, self.layout, self.paper, self.candidates,
                               self.max_steps if max_steps is None else max_steps)
        result = hand.write(request)
        name = Path(hand.checkpoint.path).name if getattr(hand.checkpoint, "path", None) else None
        if self.checkpoint and name and name != self.checkpoint:
            result.extra_notes.append(Note(f"the document was written with {self.checkpoint}; this is {name}, so "
                                           f"the ink differs (open the document to see the ink it saved)"))
        return result


def document_of(result: Result, hand, checkpoint: str | Path | None = None, paper: PaperOptions | None = None,
                embed_styles=()) -> Document:
    """The document of a line-mode `result`: its request and its ink. Lines whose style id is in
    `embed_styles` (the user's own styles) carry the style's ink itself; the others keep the bank id."""
    if result.paragraph:
        raise InputError("a saved document holds a line-mode write (paragraph mode is not saved yet)")
    embed = set(embed_styles)
    embedded = {}
    for i, s in enumerate(result.specs):
        if s.style is not None and s.style in embed:
            st = hand.styles.get(s.style)
            embedded[i] = EmbeddedStyle(st.text, np.asarray(st.offsets, np.float32))
    name = Path(checkpoint).name if checkpoint else Path(getattr(hand.checkpoint, "path", "") or "").name or None
    check = result.legibility
    candidates = check.candidates if check is not None and check.ran else 1
    request = replace(result.request, paper=paper if paper is not None else result.request.paper,
                      candidates=candidates)
    ink = [None if ln is None else SavedLine(np.asarray(ln.offsets, np.float32), bool(ln.hit_cap))
           for ln in result.lines]
    return Document(**vars(request), checkpoint=name, embedded=embedded, ink=ink, ink_height=result.ink_height)


# ---- the ink as JSON ---------------------------------------------------------------------------------
def _ink_json(line: SavedLine) -> dict:
    o = np.asarray(line.offsets, np.float32)
    xy = zlib.compress(o[:, :2].astype("<f4").tobytes(), 9)
    eos = zlib.compress(np.packbits(o[:, 2] > 0.5).tobytes(), 9)
    return {"points": len(o), "xy": base64.b64encode(xy).decode("ascii"),
            "eos": base64.b64encode(eos).decode("ascii"), "capped": bool(line.hit_cap)}


def _unpacked(text, size: int, what: str) -> bytes:
    """base64 then zlib, to exactly `size` bytes; a bigger payload (a zip bomb) is refused unread."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be base64 text")
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        z = zlib.decompressobj()
        raw = z.decompress(packed, size + 1)
    except (binascii.Error, UnicodeEncodeError, zlib.error, ValueError):
        raise ValueError(f"{what} is not base64 of zlib data") from None
    if len(raw) != size or z.unconsumed_tail:
        raise ValueError(f"{what} holds {'more' if len(raw) > size or z.unconsumed_tail else 'less'} data than "
                         f"its point count says")
    return raw


def _ink_from_json(ink, rows: list) -> tuple[list[SavedLine | None], float]:
    if not isinstance(ink, dict) or not isinstance(ink.get("lines"), list):
        raise ValueError("must be an object with height and lines")
    height = json_number(ink.get("height"), "height")
    if height is None or not 0 < height < 1e6:
        raise ValueError("height must be a positive number")
    lines = ink["lines"]
    if len(lines) != len(rows):
        raise ValueError(f"{len(lines)} lines of ink for {len(rows)} lines of text")
    out = []
    for n, (ln, row) in enumerate(zip(lines, rows), start=1):
        blank = not (isinstance(row, dict) and row.get("text"))
        if ln is None:
            if not blank:
                raise ValueError(f"line {n} has text but no ink")
            out.append(None)
            continue
        if not isinstance(ln, dict):
            raise ValueError(f"line {n} must be an object with points, xy and eos, or null")
        points = ln.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_INK_POINTS:
            raise ValueError(f"line {n}: points must be a whole number from 1 to {MAX_INK_POINTS}")
        xy = np.frombuffer(_unpacked(ln.get("xy"), 8 * points, f"line {n}'s xy"), "<f4").reshape(points, 2)
        eos = np.unpackbits(np.frombuffer(_unpacked(ln.get("eos"), (points + 7) // 8, f"line {n}'s eos"),
                                          np.uint8))[:points]
        if not np.isfinite(xy).all() or np.abs(xy).max() > 1e6:
            raise ValueError(f"line {n}'s ink has numbers that are not finite or are far off the page")
        capped = ln.get("capped", False)
        if not isinstance(capped, bool):
            raise ValueError(f"line {n}: capped must be true or false")
        out.append(SavedLine(np.column_stack([xy, eos]).astype(np.float32), capped))
    return out, height


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
